//! What must hold whatever the outside world sends the two parsers of outside input: the
//! aggregates response (bytes from the Genesys API, parsed and mapped to series) and the
//! query config (a user's YAML file).
//!
//! Shared by the property tests (`tests/parsers.rs`) and the fuzz targets (`fuzz/`,
//! which include this file by path), so that the fuzzers and the normal suite check the
//! same things. It uses only the library's public entry points: `serde_json` into
//! `AggregateResponse`, `map_response`, `Config::from_yaml` and `Config::to_yaml`.
#![allow(dead_code)] // each user takes its own subset

use std::collections::{HashMap, HashSet};

use genesys_cloud_exporter::config::{Config, QueryConfig};
use genesys_cloud_exporter::genesys::bodies::AggregateResponse;
use genesys_cloud_exporter::genesys::names::Names;
use genesys_cloud_exporter::interval::Interval;
use genesys_cloud_exporter::mapping::{GroupMemory, Mapped, map_response};
use genesys_cloud_exporter::series::QuerySeries;

/// File name given to `Config::from_yaml`, which every error must start with.
pub const ORIGIN: &str = "fuzz.yml";

/// The query that fuzzed responses answer: a dimension with queue names, one that
/// groups often lack, and a metric of each family.
pub const QUERY_YAML: &str = "\
queries:
  - name: fuzz
    granularity: PT30M
    group_by: [queueId, mediaType, userId]
    metrics: [nOffered, nConnected, tHandle, tAbandon, oServiceLevel]
";

/// The interval the fuzzed responses are for; buckets of any other interval are skipped.
pub const INTERVAL: &str = "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z";
/// The interval after it, for a second poll that exercises the group memory.
pub const NEXT_INTERVAL: &str = "2026-11-25T12:30:00.000Z/2026-11-25T13:00:00.000Z";

/// The query of [`QUERY_YAML`].
pub fn query() -> QueryConfig {
    match Config::from_yaml(QUERY_YAML, ORIGIN) {
        Ok(config) => config.queries[0].clone(),
        Err(e) => panic!("the fixed query is invalid: {e}"),
    }
}

pub fn interval(text: &str) -> Interval {
    match Interval::parse_iso8601(text) {
        Ok(interval) => interval,
        Err(e) => panic!("{e}"),
    }
}

/// Names as the directory would have them: one known queue and one known user.
pub fn names() -> Names {
    Names::from_tables([
        (
            "queueId",
            HashMap::from([("q-1".to_string(), "Sales".to_string())]),
        ),
        (
            "userId",
            HashMap::from([("u-1".to_string(), "Robert \"Bob\" Müller".to_string())]),
        ),
    ])
}

/// Parses `bytes` as an aggregates response the way the client does. When it parses,
/// maps it for [`INTERVAL`], then maps an empty response for the next interval (the
/// groups just seen must come back as zeros), checking both results; returns the first
/// mapping. `None` when the bytes are not a response, which fails only that poll.
pub fn check_aggregates(bytes: &[u8]) -> Result<Option<Mapped>, String> {
    let Ok(response) = serde_json::from_slice::<AggregateResponse>(bytes) else {
        return Ok(None);
    };
    check_response(&query(), &response).map(Some)
}

/// Maps `response` to `query` for [`INTERVAL`] and the next one, checking the series.
pub fn check_response(query: &QueryConfig, response: &AggregateResponse) -> Result<Mapped, String> {
    let names = names();
    let mut memory = GroupMemory::default();
    let mapped = map_response(query, &interval(INTERVAL), response, &names, &mut memory);
    check_series(&mapped.series).map_err(|e| format!("first poll: {e}"))?;
    let later = map_response(
        query,
        &interval(NEXT_INTERVAL),
        &AggregateResponse::default(),
        &names,
        &mut memory,
    );
    check_series(&later.series).map_err(|e| format!("second poll: {e}"))?;
    if later.warnings != 0 {
        return Err(format!(
            "an empty response gave {} warnings",
            later.warnings
        ));
    }
    Ok(mapped)
}

/// What the exposition needs of a query's series: valid and sorted family names, label
/// names valid and unique within a sample, no series twice in a family, finite values.
pub fn check_series(series: &QuerySeries) -> Result<(), String> {
    let mut previous: Option<&str> = None;
    for family in &series.families {
        if !is_metric_name(&family.name) {
            return Err(format!("invalid metric name {:?}", family.name));
        }
        if previous.is_some_and(|p| p >= &*family.name) {
            return Err(format!("families out of order at {:?}", family.name));
        }
        previous = Some(&family.name);
        let mut seen = HashSet::new();
        for sample in &family.samples {
            let mut names = HashSet::new();
            for (name, _) in sample.labels.pairs() {
                if !is_label_name(name) || !names.insert(name) {
                    return Err(format!(
                        "{}: label {name:?} invalid or repeated in {:?}",
                        family.name, sample.labels
                    ));
                }
            }
            if !seen.insert(&sample.labels) {
                return Err(format!(
                    "{}: series {:?} appears twice",
                    family.name, sample.labels
                ));
            }
            if !sample.value.is_finite() {
                return Err(format!(
                    "{}{:?} = {}",
                    family.name, sample.labels, sample.value
                ));
            }
        }
    }
    Ok(())
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved by Prometheus).
fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A small response with a group of each kind, for mapping fuzzed configs against.
pub const SAMPLE_RESPONSE: &str = r#"{"results": [
  {"group": {"queueId": "q-1", "mediaType": "voice", "direction": "inbound", "qualifier": "x"},
   "data": [{"interval": "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z",
     "metrics": [
       {"metric": "nOffered", "stats": {"count": 42}},
       {"metric": "nOffered", "qualifier": "callback", "stats": {"count": 3}},
       {"metric": "tHandle", "stats": {"max": 1203344, "min": 30211, "count": 37, "sum": 11874102}},
       {"metric": "oServiceLevel", "stats": {"ratio": 0.81, "numerator": 30, "denominator": 37, "target": 0.8}}]}]},
  {"group": {"mediaType": "email"},
   "data": [{"interval": "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z",
     "metrics": [{"metric": "tAbandon", "stats": {"count": 2, "sum": 5000}}]}]}]}"#;

/// Parses `text` as a config. An error must be one line starting with the file name; a
/// config must survive `to_yaml` and back unchanged, and each of its queries must map a
/// response into valid series.
pub fn check_config(text: &str) -> Result<Option<Config>, String> {
    let config = match Config::from_yaml(text, ORIGIN) {
        Ok(config) => config,
        Err(e) => {
            let message = e.to_string();
            if !message.starts_with(ORIGIN) || message.contains(['\n', '\r']) {
                return Err(format!("badly formed error: {message:?}"));
            }
            return Ok(None);
        }
    };
    let yaml = config
        .to_yaml()
        .map_err(|e| format!("to_yaml failed: {e}"))?;
    match Config::from_yaml(&yaml, ORIGIN) {
        Ok(again) if again == config => {}
        Ok(again) => return Err(format!("round trip changed {config:?} into {again:?}")),
        Err(e) => return Err(format!("round trip refused {yaml:?}: {e}")),
    }
    let response: AggregateResponse =
        serde_json::from_str(SAMPLE_RESPONSE).map_err(|e| e.to_string())?;
    for query in &config.queries {
        check_response(query, &response).map_err(|e| format!("query {}: {e}", query.name))?;
    }
    Ok(Some(config))
}
