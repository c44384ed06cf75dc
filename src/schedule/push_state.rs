//! A pushed queue set's state ([`super::push`]): the REST answer's shape, events
//! applied to it, and its series kept queue by queue between publishes.
//!
//! The set publishes a few times a second while its queues change, and mapping every
//! queue again each time was the cost of pushing (BENCHMARKS.md, "Push: freshness and
//! cost"). So each queue's series are kept as [`map_untimed`] left them (labels rendered,
//! ages still dates), an event drops only its queue's, and a publish maps the queues
//! dropped since and joins everything, timed to the publish ([`timed`]): the series are
//! those `map_observations` makes of the whole state, exactly.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::config::ObservationConfig;
use crate::genesys::bodies::GroupValue;
use crate::genesys::observations::{
    ObservationMetric, ObservationResponse, ObservationResult, ObservationValue, QueueTopicStats,
};
use crate::mapping::observations::{CONVERSATION_METRICS, Untimed, map_untimed, timed};
use crate::series::QuerySeries;

/// A queue and media type (`None` for the counts grouped by queue alone).
type GroupKey = (String, Option<String>);
/// A metric and its qualifier.
type MetricKey = (String, Option<String>);
/// One series' value: queue, media type, metric, qualifier.
type SeriesKey = (String, Option<String>, String, Option<String>);

/// A pushed set's state, in the REST answer's shape.
#[derive(Debug, Default)]
pub(super) struct PushedState {
    groups: BTreeMap<GroupKey, BTreeMap<MetricKey, ObservationMetric>>,
    /// `systemToOrganizationMappings` of the last REST read.
    mappings: BTreeMap<String, Vec<String>>,
    /// A REST read has been adopted: until then there is nothing whole to publish.
    pub(super) seeded: bool,
    /// Each queue's series as last mapped, with the queue name they were mapped with;
    /// a queue whose state or name changed since is mapped again ([`PushedState::series`]).
    mapped: BTreeMap<String, (Option<String>, Untimed)>,
}

impl PushedState {
    /// The state a REST read describes.
    pub(super) fn from_responses(responses: Vec<ObservationResponse>) -> PushedState {
        let mut state = PushedState {
            seeded: true,
            ..PushedState::default()
        };
        for response in responses {
            for (system, ids) in response.system_to_organization_mappings {
                state.mappings.entry(system).or_default().extend(ids);
            }
            for result in response.results {
                let Some(queue) = result.group.get("queueId").map(|v| v.0.clone()) else {
                    continue;
                };
                let media = result.group.get("mediaType").map(|v| v.0.clone());
                let group = state.groups.entry((queue, media)).or_default();
                for entry in result.data {
                    group
                        .entry((entry.metric.clone(), entry.qualifier.clone()))
                        .or_insert(entry);
                }
            }
        }
        state
    }

    /// Applies one event; false if it changed nothing (not a queue of the set, a
    /// media type it filters out, no metrics).
    pub(super) fn apply(
        &mut self,
        event: QueueTopicStats,
        config: &ObservationConfig,
        queues: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> bool {
        let Some(GroupValue(queue)) = event.group.get("queueId").cloned() else {
            return false;
        };
        if !queues.contains(&queue) {
            return false;
        }
        let media = event.group.get("mediaType").map(|v| v.0.clone());
        if let Some(media) = &media
            && !config.media_types.is_empty()
            && !config.media_types.contains(media)
        {
            return false;
        }
        // The latest interval's counts, by metric.
        let Some(latest) = event.data.into_iter().last() else {
            return false;
        };
        let mut by_metric: BTreeMap<String, Vec<ObservationMetric>> = BTreeMap::new();
        for entry in latest.metrics {
            if config.metrics.contains(&entry.metric) {
                by_metric
                    .entry(entry.metric.clone())
                    .or_default()
                    .push(entry);
            }
        }
        let changed = !by_metric.is_empty();
        if changed {
            self.mapped.remove(&queue);
        }
        for (metric, entries) in by_metric {
            let key = if CONVERSATION_METRICS.contains(&metric.as_str()) {
                match &media {
                    Some(_) => (queue.clone(), media.clone()),
                    None => continue,
                }
            } else {
                (queue.clone(), None)
            };
            let group = self.groups.entry(key).or_default();
            let keys: Vec<MetricKey> = group
                .keys()
                .filter(|(name, _)| *name == metric)
                .cloned()
                .collect();
            let before: BTreeMap<MetricKey, ObservationMetric> = keys
                .into_iter()
                .filter_map(|key| group.remove_entry(&key))
                .collect();
            let detail = config.detail_metrics.contains(&metric);
            for mut entry in entries {
                let key = (metric.clone(), entry.qualifier.clone());
                let waiting = entry.stats.get("count").unwrap_or(0.0) > 0.0;
                entry.observations = match before.get(&key) {
                    // The oldest conversation is most likely still there.
                    Some(old) if waiting && !old.observations.is_empty() => {
                        old.observations.clone()
                    }
                    // The first one arrived about now.
                    _ if waiting && detail => vec![ObservationValue {
                        observation_date: Some(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
                    }],
                    _ => Vec::new(),
                };
                group.insert(key, entry);
            }
        }
        changed
    }

    /// One queue's state as a REST answer, for the mapping.
    fn response_of(&self, queue: &str) -> ObservationResponse {
        let results = self
            .groups
            .range((queue.to_string(), None)..)
            .take_while(|((of, _), _)| of == queue)
            .map(|((queue, media), entries)| {
                let mut group = BTreeMap::new();
                group.insert("queueId".to_string(), GroupValue(queue.clone()));
                if let Some(media) = media {
                    group.insert("mediaType".to_string(), GroupValue(media.clone()));
                }
                ObservationResult {
                    group,
                    data: entries.values().cloned().collect(),
                }
            })
            .collect();
        ObservationResponse {
            system_to_organization_mappings: self.mappings.clone(),
            results,
        }
    }

    /// The series of the set's queues `ids` observed at `observed_at`, as
    /// `map_observations` makes them from the REST answer this state equals, and the
    /// entries it skipped. Only the queues whose state or name changed since their last
    /// mapping are mapped again: a publish costs in proportion to what the events
    /// changed, plus joining the kept series.
    pub(super) fn series(
        &mut self,
        config: &ObservationConfig,
        ids: &[String],
        names: &HashMap<String, String>,
        observed_at: DateTime<Utc>,
    ) -> (QuerySeries, u64) {
        let asked: HashSet<&str> = ids.iter().map(String::as_str).collect();
        self.mapped
            .retain(|queue, _| asked.contains(queue.as_str()));
        let mut warnings = 0;
        for queue in ids {
            let name = names.get(queue);
            if self
                .mapped
                .get(queue)
                .is_some_and(|(mapped_with, _)| mapped_with.as_ref() == name)
            {
                continue;
            }
            let response = self.response_of(queue);
            let (untimed, skipped) =
                map_untimed(config, std::slice::from_ref(queue), &[response], names);
            warnings += skipped;
            self.mapped.insert(queue.clone(), (name.cloned(), untimed));
        }
        let parts = self.mapped.values().map(|(_, untimed)| untimed);
        (timed(&config.name, parts, observed_at), warnings)
    }

    /// Every count of the set's metrics.
    pub(super) fn values(&self, metrics: &[String]) -> BTreeMap<SeriesKey, f64> {
        let mut values = BTreeMap::new();
        for ((queue, media), entries) in &self.groups {
            for ((metric, qualifier), entry) in entries {
                if metrics.contains(metric) {
                    let key = (
                        queue.clone(),
                        media.clone(),
                        metric.clone(),
                        qualifier.clone(),
                    );
                    values.insert(key, entry.stats.get("count").unwrap_or(0.0));
                }
            }
        }
        values
    }
}

/// Series whose values differ between `a` and `b` (absent reads as 0, as zero-fill
/// exports it).
pub(super) fn differences<K: Ord>(a: &BTreeMap<K, f64>, b: &BTreeMap<K, f64>) -> u64 {
    let keys: BTreeSet<&K> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|key| a.get(*key).copied().unwrap_or(0.0) != b.get(*key).copied().unwrap_or(0.0))
        .count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::mapping::observations::map_observations;

    fn config() -> ObservationConfig {
        Config::from_yaml(
            "observations:\n  - {name: live, metrics: [oWaiting, oOnQueueUsers, oMemberUsers], detail_metrics: [oWaiting], transport: push}\n",
            "test.yaml",
        )
        .unwrap()
        .observations
        .remove(0)
    }

    /// A REST answer of one queue.
    const ANSWER: &str = r#"{"results": [
        {"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
          {"metric": "oWaiting", "stats": {"count": 2},
           "observations": [{"observationDate": "2026-12-07T02:00:00.000Z"}]}]},
        {"group": {"queueId": "q1"}, "data": [
          {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 4}},
          {"metric": "oOnQueueUsers", "qualifier": "INTERACTING", "stats": {"count": 1}},
          {"metric": "oMemberUsers", "stats": {"count": 9}}]}]}"#;

    fn seeded() -> PushedState {
        PushedState::from_responses(vec![serde_json::from_str(ANSWER).unwrap()])
    }

    fn event(body: &str) -> QueueTopicStats {
        serde_json::from_str(body).unwrap()
    }

    fn queues() -> BTreeSet<String> {
        ["q1".to_string()].into_iter().collect()
    }

    fn now() -> DateTime<Utc> {
        "2026-12-07T02:05:00Z".parse().unwrap()
    }

    fn key(media: Option<&str>, metric: &str, qualifier: Option<&str>) -> SeriesKey {
        (
            "q1".into(),
            media.map(str::to_string),
            metric.into(),
            qualifier.map(str::to_string),
        )
    }

    #[test]
    fn an_event_replaces_the_metrics_it_carries_and_nothing_else() {
        let config = config();
        let mut state = seeded();
        let changed = state.apply(
            event(
                r#"{"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
                {"interval": "old", "metrics": [{"metric": "oWaiting", "stats": {"count": 7}}]},
                {"interval": "now", "metrics": [
                  {"metric": "oWaiting", "stats": {"count": 3}},
                  {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 5}},
                  {"metric": "oServiceLevel", "stats": {"count": 1}}]}]}"#,
            ),
            &config,
            &queues(),
            now(),
        );
        assert!(changed);
        let values = state.values(&config.metrics);
        assert_eq!(values[&key(Some("voice"), "oWaiting", None)], 3.0);
        assert_eq!(values[&key(None, "oOnQueueUsers", Some("IDLE"))], 5.0);
        // The event's statuses are all of oOnQueueUsers now: INTERACTING is gone (0).
        assert!(!values.contains_key(&key(None, "oOnQueueUsers", Some("INTERACTING"))));
        assert_eq!(values[&key(None, "oMemberUsers", None)], 9.0);
        // Still waiting: the oldest conversation is kept.
        let waiting = &state.groups[&("q1".to_string(), Some("voice".to_string()))]
            [&("oWaiting".to_string(), None)];
        assert_eq!(
            waiting.observations[0].observation_date.as_deref(),
            Some("2026-12-07T02:00:00.000Z")
        );
    }

    #[test]
    fn the_oldest_wait_follows_the_counts() {
        let config = config();
        let mut state = seeded();
        let waiting = |state: &PushedState, media: &str| {
            state.groups[&("q1".to_string(), Some(media.to_string()))]
                [&("oWaiting".to_string(), None)]
                .observations
                .iter()
                .filter_map(|o| o.observation_date.clone())
                .collect::<Vec<_>>()
        };
        let set = |state: &mut PushedState, media: &str, count: u32| {
            state.apply(
                event(&format!(
                    r#"{{"group": {{"queueId": "q1", "mediaType": "{media}"}}, "data": [{{"metrics": [{{"metric": "oWaiting", "stats": {{"count": {count}}}}}]}}]}}"#
                )),
                &config,
                &queues(),
                now(),
            )
        };
        set(&mut state, "voice", 0);
        assert!(waiting(&state, "voice").is_empty());
        set(&mut state, "chat", 1);
        assert_eq!(waiting(&state, "chat"), ["2026-12-07T02:05:00.000Z"]);
    }

    #[test]
    fn events_of_other_queues_or_shapes_change_nothing() {
        let config = config();
        let mut state = seeded();
        let before = state.values(&config.metrics);
        for body in [
            r#"{"group": {"queueId": "other", "mediaType": "voice"}, "data": [{"metrics": [{"metric": "oWaiting", "stats": {"count": 1}}]}]}"#,
            r#"{"group": {"mediaType": "voice"}, "data": [{"metrics": [{"metric": "oWaiting", "stats": {"count": 1}}]}]}"#,
            r#"{"group": {"queueId": "q1", "mediaType": "voice"}, "data": []}"#,
            r#"{"group": {"queueId": "q1"}, "data": [{"metrics": [{"metric": "oWaiting", "stats": {"count": 1}}]}]}"#,
            r#"{}"#,
        ] {
            state.apply(event(body), &config, &queues(), now());
        }
        assert_eq!(state.values(&config.metrics), before);
    }

    #[test]
    fn differences_count_series_and_absent_is_zero() {
        let config = config();
        let pushed = seeded();
        let mut polled = seeded();
        assert_eq!(
            differences(
                &pushed.values(&config.metrics),
                &polled.values(&config.metrics)
            ),
            0
        );
        polled.apply(
            event(
                r#"{"group": {"queueId": "q1", "mediaType": "voice"}, "data": [{"metrics": [
                {"metric": "oWaiting", "stats": {"count": 5}},
                {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 4}}]}]}"#,
            ),
            &config,
            &queues(),
            now(),
        );
        // oWaiting differs; oOnQueueUsers INTERACTING went from 1 to absent (0).
        assert_eq!(
            differences(
                &pushed.values(&config.metrics),
                &polled.values(&config.metrics)
            ),
            2
        );
    }

    #[test]
    fn the_state_maps_as_the_rest_answer_it_came_from() {
        let config = config();
        let ids = vec!["q1".to_string(), "q2".to_string()];
        let names = HashMap::from([("q1".to_string(), "Sales".to_string())]);
        let original: ObservationResponse = serde_json::from_str(ANSWER).unwrap();
        let direct = map_observations(&config, &ids, &[original], &names, now());
        let (from_state, _) = seeded().series(&config, &ids, &names, now());
        assert_eq!(from_state, direct.series);
    }

    #[test]
    fn kept_series_are_timed_again_and_changed_queues_mapped_again() {
        let config = config();
        let ids = vec!["q1".to_string(), "q2".to_string()];
        let mut names = HashMap::from([("q1".to_string(), "Sales".to_string())]);
        let mut state = seeded();
        state.series(&config, &ids, &names, now());
        // What one mapping of the whole state makes at `at`.
        let direct = |state: &PushedState, names: &HashMap<String, String>, at| {
            let whole: Vec<ObservationResponse> =
                ids.iter().map(|queue| state.response_of(queue)).collect();
            map_observations(&config, &ids, &whole, names, at).series
        };
        let age = |series: &QuerySeries, queue: &str, media: &str| {
            series
                .families
                .iter()
                .find(|f| &*f.name == "genesys_queue_oldest_waiting_seconds")
                .and_then(|f| {
                    f.samples
                        .iter()
                        .find(|s| s.labels.values()[1] == queue && s.labels.values()[3] == media)
                })
                .map(|s| s.value)
        };

        // q2 gets a waiting conversation; q1's series are kept, their age timed anew.
        state.apply(
            event(
                r#"{"group": {"queueId": "q2", "mediaType": "chat"}, "data": [{"metrics": [{"metric": "oWaiting", "stats": {"count": 1}}]}]}"#,
            ),
            &config,
            &ids.iter().cloned().collect(),
            now(),
        );
        let later: DateTime<Utc> = "2026-12-07T02:06:30Z".parse().unwrap();
        let (kept, _) = state.series(&config, &ids, &names, later);
        assert_eq!(kept, direct(&state, &names, later));
        assert_eq!(age(&kept, "q1", "voice"), Some(390.0));
        assert_eq!(age(&kept, "q2", "chat"), Some(90.0));

        // q1 renamed: mapped again with its new name.
        names.insert("q1".to_string(), "Sales EU".to_string());
        let (renamed, _) = state.series(&config, &ids, &names, later);
        assert_eq!(renamed, direct(&state, &names, later));
        let text = format!("{renamed:?}");
        assert!(text.contains(r#"queue_name="Sales EU""#), "{text}");
        assert!(!text.contains(r#"queue_name="Sales""#), "{text}");
    }
}
