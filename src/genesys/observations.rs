//! `POST /api/v2/analytics/queues/observations/query`: request and response bodies.
//!
//! The request names its queues in an `or` of `queueId` predicates (at most
//! [`crate::config::MAX_QUEUES_PER_REQUEST`] a request), optionally narrowed by an `or` of
//! `mediaType` predicates. The response (`QueueObservationQueryResponse`) is read as
//! leniently as the aggregates one: unknown fields are ignored, `null` reads as empty, a
//! stat that is not a number is skipped and counted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::bodies::{GroupValue, Stats, null_as_default};

/// Body of one observation request.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationQuery<'a> {
    pub filter: Value,
    pub metrics: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub detail_metrics: &'a [String],
}

impl<'a> ObservationQuery<'a> {
    /// The request for `queues` (at most the per-request cap), narrowed to
    /// `media_types` when there are any.
    pub fn new(
        queues: &[String],
        media_types: &[String],
        metrics: &'a [String],
        detail_metrics: &'a [String],
    ) -> ObservationQuery<'a> {
        let predicates = |dimension: &str, values: &[String]| -> Value {
            let list: Vec<Value> = values
                .iter()
                .map(|value| {
                    json!({"type": "dimension", "dimension": dimension, "operator": "matches", "value": value})
                })
                .collect();
            Value::Array(list)
        };
        let filter = if media_types.is_empty() {
            json!({"type": "or", "predicates": predicates("queueId", queues)})
        } else {
            json!({"type": "and", "clauses": [
                {"type": "or", "predicates": predicates("queueId", queues)},
                {"type": "or", "predicates": predicates("mediaType", media_types)},
            ]})
        };
        ObservationQuery {
            filter,
            metrics,
            detail_metrics,
        }
    }
}

/// Response of the observation query.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationResponse {
    /// System presence (`AVAILABLE`, `ON_QUEUE`, ...) to the organization presence ids
    /// that `oUserPresences` qualifiers use.
    #[serde(default, deserialize_with = "null_as_default")]
    pub system_to_organization_mappings: BTreeMap<String, Vec<String>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<ObservationResult>,
}

/// One group: `{queueId, mediaType}` for conversation counts, `{queueId}` for users.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ObservationResult {
    #[serde(default, deserialize_with = "null_as_default")]
    pub group: BTreeMap<String, GroupValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<ObservationMetric>,
}

/// One metric of one group, with its conversations when it was a detail metric.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ObservationMetric {
    #[serde(default, deserialize_with = "null_as_default")]
    pub metric: String,
    /// A routing status, or an organization presence id for `oUserPresences`.
    #[serde(default)]
    pub qualifier: Option<String>,
    #[serde(default)]
    pub stats: Stats,
    /// The list of `observations` was cut short.
    #[serde(default)]
    pub truncated: Option<bool>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub observations: Vec<ObservationValue>,
}

/// One conversation of a detail metric: only when it entered the state is used (the
/// exporter never exports conversation ids).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservationValue {
    #[serde(default)]
    pub observation_date: Option<String>,
}

/// The event of topic `v2.analytics.queues.{id}.observations`
/// (`StatEventQueueTopicStatsNotification`): one queue and media type's counts now.
/// Its metrics carry `stats` only: no conversation list, so the oldest-in-state gauges
/// of a pushed set are kept from the REST reads (docs/push.md).
#[derive(Debug, Default, Deserialize)]
pub struct QueueTopicStats {
    #[serde(default, deserialize_with = "null_as_default")]
    pub group: BTreeMap<String, GroupValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<QueueTopicInterval>,
}

/// `StatEventQueueTopicIntervalMetrics`.
#[derive(Debug, Default, Deserialize)]
pub struct QueueTopicInterval {
    #[serde(default)]
    pub interval: Option<String>,
    /// `StatEventQueueTopicMetricStats {metric, qualifier, stats}`, read as the REST
    /// answer's metric entries.
    #[serde(default, deserialize_with = "null_as_default")]
    pub metrics: Vec<ObservationMetric>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_documented_shape() {
        let metrics = vec!["oWaiting".to_string()];
        let queues = vec!["a".to_string(), "b".to_string()];
        let plain =
            serde_json::to_value(ObservationQuery::new(&queues, &[], &metrics, &[])).unwrap();
        assert_eq!(
            plain,
            json!({"filter": {"type": "or", "predicates": [
                {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": "a"},
                {"type": "dimension", "dimension": "queueId", "operator": "matches", "value": "b"}]},
                "metrics": ["oWaiting"]})
        );
        let media = vec!["voice".to_string()];
        let narrowed =
            serde_json::to_value(ObservationQuery::new(&queues, &media, &metrics, &metrics))
                .unwrap();
        assert_eq!(narrowed["filter"]["type"], "and");
        assert_eq!(
            narrowed["filter"]["clauses"][1]["predicates"][0]["value"],
            "voice"
        );
        assert_eq!(narrowed["detailMetrics"], json!(["oWaiting"]));
    }

    #[test]
    fn the_topic_event_is_read_as_the_sdk_models_it() {
        let body = r#"{"group": {"queueId": "q", "mediaType": "voice"}, "data": [
            {"interval": "2026-12-07T02:00:00.000Z/2026-12-07T02:00:01.000Z", "metrics": [
              {"metric": "oWaiting", "stats": {"count": 3}},
              {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 2.0}}]}]}"#;
        let event: QueueTopicStats = serde_json::from_str(body).unwrap();
        assert_eq!(event.group["mediaType"].0, "voice");
        let metrics = &event.data[0].metrics;
        assert_eq!(metrics[1].qualifier.as_deref(), Some("IDLE"));
        assert_eq!(metrics[0].stats.get("count"), Some(3.0));
        let empty: QueueTopicStats = serde_json::from_str(r#"{"group": null}"#).unwrap();
        assert!(empty.data.is_empty());
    }

    #[test]
    fn the_response_is_read_leniently() {
        let body = r#"{"systemToOrganizationMappings": null, "futureField": 1, "results": [
            {"group": {"queueId": "q", "mediaType": "voice"}, "data": [
              {"metric": "oWaiting", "stats": {"count": 2, "odd": "x"}, "truncated": false,
               "observations": [{"observationDate": "2026-12-01T09:35:00.000Z", "conversationId": "c"}]}]},
            {"group": {"queueId": "q"}, "data": null}]}"#;
        let response: ObservationResponse = serde_json::from_str(body).unwrap();
        assert!(response.system_to_organization_mappings.is_empty());
        let waiting = &response.results[0].data[0];
        assert_eq!(waiting.stats.get("count"), Some(2.0));
        assert_eq!(waiting.stats.skipped, 1);
        assert_eq!(
            waiting.observations[0].observation_date.as_deref(),
            Some("2026-12-01T09:35:00.000Z")
        );
        assert!(response.results[1].data.is_empty());
    }
}
