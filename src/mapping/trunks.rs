//! Trunks and their metrics to Prometheus series: `genesys_trunk_*` gauges.
//!
//! Pure, like the rest of [`crate::mapping`]: the listing and the metrics of one refresh
//! go in, one [`QuerySeries`] comes out. Every trunk of the listing (but a `deleted`
//! one) is one series in each family, labelled `query` (the set's name), `trunk_id`,
//! `trunk_name`, `trunk_type` and `edge_id`:
//! `genesys_trunk_connected` (`connectedStatus.connected`, 1 or 0),
//! `genesys_trunk_in_service` (`inService`, 1 or 0),
//! `genesys_trunk_calls{direction="inbound"|"outbound"}` (calls on it now) and
//! `genesys_trunk_qos_mismatches` (`qos.mismatchCount`).
//!
//! Zero-fill: a trunk listed without metrics (or without a count in them) reads 0, as
//! does one without a connected status or `inService`. Several metrics entries of one
//! trunk (one per logical interface) are summed. Metrics of a trunk not in the listing
//! are skipped and counted.

use std::collections::HashMap;
use std::sync::Arc;

use super::observations::MappedObservations;
use super::{Family, LabelSet, Labels, QuerySeries, Sample};
use crate::genesys::trunks::{Trunk, TrunkMetrics};

/// The labels of every trunk series, in this order (`direction` follows on calls).
pub const TRUNK_LABELS: [&str; 5] = ["query", "trunk_id", "trunk_name", "trunk_type", "edge_id"];

/// One trunk's metrics, summed over its entries.
#[derive(Default)]
struct Counts {
    inbound: f64,
    outbound: f64,
    mismatches: f64,
}

/// Maps one refresh of the set `query`: `trunks` as listed, `metrics` as answered.
pub fn map_trunks(query: &str, trunks: &[Trunk], metrics: &[TrunkMetrics]) -> MappedObservations {
    // Each trunk once: a listing read while trunks are added or removed can show one
    // on two pages.
    let mut ids = std::collections::HashSet::new();
    let listed: Vec<&Trunk> = trunks
        .iter()
        .filter(|t| t.state.as_deref() != Some("deleted"))
        .filter(|t| {
            t.id.as_deref()
                .is_some_and(|id| !id.is_empty() && ids.insert(id))
        })
        .collect();
    let mut counts: HashMap<&str, Counts> = listed
        .iter()
        .filter_map(|t| t.id.as_deref())
        .map(|id| (id, Counts::default()))
        .collect();
    let mut warnings = 0;
    for entry in metrics {
        let id = entry.trunk.as_ref().and_then(|t| t.id.as_deref());
        let Some(counts) = id.and_then(|id| counts.get_mut(id)) else {
            warnings += 1;
            continue;
        };
        if let Some(calls) = &entry.calls {
            counts.inbound += calls.inbound_call_count.unwrap_or(0.0);
            counts.outbound += calls.outbound_call_count.unwrap_or(0.0);
        }
        if let Some(qos) = &entry.qos {
            counts.mismatches += qos.mismatch_count.unwrap_or(0.0);
        }
    }

    let names: Arc<[String]> = TRUNK_LABELS.map(String::from).into();
    let with_direction: Arc<[String]> = TRUNK_LABELS
        .iter()
        .chain(&["direction"])
        .map(|l| l.to_string())
        .collect();
    let mut connected = Vec::with_capacity(listed.len());
    let mut in_service = Vec::with_capacity(listed.len());
    let mut calls = Vec::with_capacity(2 * listed.len());
    let mut mismatches = Vec::with_capacity(listed.len());
    let flag = |value: Option<bool>| if value == Some(true) { 1.0 } else { 0.0 };
    for trunk in listed {
        let id = trunk.id.clone().unwrap_or_default();
        let values = vec![
            query.to_string(),
            id.clone(),
            trunk.name.clone().unwrap_or_default(),
            trunk.trunk_type.clone().unwrap_or_default(),
            trunk
                .edge
                .as_ref()
                .and_then(|e| e.id.clone())
                .unwrap_or_default(),
        ];
        let counts = counts.remove(id.as_str()).unwrap_or_default();
        for (direction, value) in [("inbound", counts.inbound), ("outbound", counts.outbound)] {
            let mut values = values.clone();
            values.push(direction.to_string());
            calls.push(Sample {
                labels: LabelSet::new(Labels::new(Arc::clone(&with_direction), values)),
                value,
            });
        }
        let labels = LabelSet::new(Labels::new(Arc::clone(&names), values));
        let sample = |value| Sample {
            labels: Arc::clone(&labels),
            value,
        };
        // Unknown is not down: a trunk whose listing says nothing of its connection has
        // no `connected` sample (the disconnected alert must not page for it).
        if let Some(up) = trunk.connected_status.as_ref().and_then(|c| c.connected) {
            connected.push(sample(flag(Some(up))));
        }
        in_service.push(sample(flag(trunk.in_service)));
        mismatches.push(sample(counts.mismatches));
    }
    let family = |name: &str, help: &str, samples| Family {
        name: name.into(),
        help: help.into(),
        samples,
    };
    let families = vec![
        family(
            "genesys_trunk_calls",
            "Calls on the trunk now, by direction (Genesys trunk metrics, calls.inboundCallCount and outboundCallCount)",
            calls,
        ),
        family(
            "genesys_trunk_connected",
            "1 while the trunk is connected, else 0 (Genesys trunk listing, connectedStatus.connected)",
            connected,
        ),
        family(
            "genesys_trunk_in_service",
            "1 while the trunk is in service, else 0 (Genesys trunk listing, inService)",
            in_service,
        ),
        family(
            "genesys_trunk_qos_mismatches",
            "QoS mismatches on the trunk (Genesys trunk metrics, qos.mismatchCount)",
            mismatches,
        ),
    ];
    MappedObservations {
        series: QuerySeries { families },
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(series: &QuerySeries, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = series.families.iter().find(|f| *f.name == *family)?;
        family
            .samples
            .iter()
            .find(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.pairs().any(|(n, x)| n == *k && x == *v))
            })
            .map(|s| s.value)
    }

    #[test]
    fn every_listed_trunk_is_a_series_of_each_family_zero_filled() {
        // "a" is listed twice (pages that shifted): one trunk all the same; "b" says
        // nothing of its connection: no `connected` sample rather than a false 0.
        let trunks: Vec<Trunk> = serde_json::from_str(
            r#"[{"id": "a", "name": "Carrier A", "trunkType": "EXTERNAL", "inService": true,
                 "connectedStatus": {"connected": true}, "edge": {"id": "e1"}},
                {"id": "b", "name": "Phones", "trunkType": "PHONE", "inService": false},
                {"id": "gone", "state": "deleted", "name": "Old"},
                {"id": "a", "name": "Carrier A", "trunkType": "EXTERNAL", "inService": true,
                 "connectedStatus": {"connected": true}, "edge": {"id": "e1"}}]"#,
        )
        .unwrap();
        let metrics: Vec<TrunkMetrics> = serde_json::from_str(
            r#"[{"trunk": {"id": "a"}, "calls": {"inboundCallCount": 3, "outboundCallCount": 1}, "qos": {"mismatchCount": 2}},
                {"trunk": {"id": "a"}, "calls": {"inboundCallCount": 1}},
                {"trunk": {"id": "stranger"}, "calls": {"inboundCallCount": 9}}]"#,
        )
        .unwrap();
        let mapped = map_trunks("t", &trunks, &metrics);
        assert_eq!(mapped.warnings, 1);
        let series = &mapped.series;
        let a = [
            ("query", "t"),
            ("trunk_id", "a"),
            ("trunk_name", "Carrier A"),
            ("trunk_type", "EXTERNAL"),
            ("edge_id", "e1"),
        ];
        let calls = |labels: &[(&str, &str)], direction| {
            let mut labels = labels.to_vec();
            labels.push(("direction", direction));
            value(series, "genesys_trunk_calls", &labels)
        };
        assert_eq!(calls(&a, "inbound"), Some(4.0));
        assert_eq!(calls(&a, "outbound"), Some(1.0));
        assert_eq!(value(series, "genesys_trunk_connected", &a), Some(1.0));
        assert_eq!(value(series, "genesys_trunk_in_service", &a), Some(1.0));
        assert_eq!(value(series, "genesys_trunk_qos_mismatches", &a), Some(2.0));
        let b = [("trunk_id", "b"), ("edge_id", ""), ("trunk_type", "PHONE")];
        assert_eq!(calls(&b, "inbound"), Some(0.0));
        assert_eq!(value(series, "genesys_trunk_connected", &b), None);
        assert_eq!(value(series, "genesys_trunk_in_service", &b), Some(0.0));
        assert_eq!(value(series, "genesys_trunk_qos_mismatches", &b), Some(0.0));
        assert_eq!(
            value(series, "genesys_trunk_connected", &[("trunk_id", "gone")]),
            None
        );
        assert_eq!(series.sample_count(), 2 * 5 - 1);
        let names: Vec<&str> = series.families.iter().map(|f| &*f.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted, "families sorted by name");
    }
}
