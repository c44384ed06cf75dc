//! Queue observations to Prometheus series: `genesys_queue_*` gauges.
//!
//! Pure, like the rest of [`crate::mapping`]: the answers of one refresh go in, one
//! [`QuerySeries`] comes out. The rules (see the README's metric table):
//! - `oWaiting` becomes `genesys_queue_waiting`, `oOnQueueUsers`
//!   `genesys_queue_on_queue_users`, and so on (`stats.count`);
//! - labels `query`, `queue_id`, `queue_name`, and `media_type` where Genesys groups by
//!   it; the qualifier becomes `routing_status` (`oOnQueueUsers`,
//!   `oUserRoutingStatuses`), or `system_presence` (`oUserPresences`, mapped through
//!   `systemToOrganizationMappings` and summed over the organization presences of each
//!   system presence; with `presence_ids`, one series per presence id with a
//!   `presence_id` label too), or else `qualifier`;
//! - a detail metric gives `genesys_queue_oldest_<state>_seconds`: Genesys' now minus
//!   the earliest `observationDate`, 0 when the list is empty;
//! - zero-fill: every observed queue reads 0 for each requested count, media type,
//!   routing status and system presence (or presence id) that Genesys left out: nobody
//!   waiting is 0, never a missing series.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Family, LabelSet, Labels, QuerySeries, Sample, split_metric};
use crate::config::ObservationConfig;
use crate::genesys::observations::{ObservationMetric, ObservationResponse};

/// Prefix of every queue observation metric.
const PREFIX: &str = "genesys_queue_";
/// Routing statuses an agent on queue can be in (the qualifiers of `oOnQueueUsers`).
pub const ON_QUEUE_STATUSES: [&str; 4] = ["IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"];
/// Every routing status (the qualifiers of `oUserRoutingStatuses`).
pub const ROUTING_STATUSES: [&str; 5] = [
    "OFF_QUEUE",
    "IDLE",
    "INTERACTING",
    "NOT_RESPONDING",
    "COMMUNICATING",
];
/// Metrics Genesys groups by queue and media type; the rest by queue alone.
pub const CONVERSATION_METRICS: [&str; 3] = ["oWaiting", "oAlerting", "oInteracting"];

/// The result of mapping one refresh.
#[derive(Debug)]
pub struct MappedObservations {
    pub series: QuerySeries,
    /// Entries skipped: no queue id, a queue not asked for, a repeat, a count that is
    /// not a number, an `observationDate` that is not a date.
    pub warnings: u64,
}

/// What one label shape needs: the names, shared by every series of that shape.
struct Shapes {
    queue: Arc<[String]>,
    media: Arc<[String]>,
    routing: Arc<[String]>,
    system_presence: Arc<[String]>,
    presence: Arc<[String]>,
    qualifier: Arc<[String]>,
}

impl Shapes {
    fn new() -> Shapes {
        let names = |extra: &[&str]| -> Arc<[String]> {
            ["query", "queue_id", "queue_name"]
                .iter()
                .chain(extra)
                .map(|s| s.to_string())
                .collect()
        };
        Shapes {
            queue: names(&[]),
            media: names(&["media_type"]),
            routing: names(&["routing_status"]),
            system_presence: names(&["system_presence"]),
            presence: names(&["system_presence", "presence_id"]),
            qualifier: names(&["qualifier"]),
        }
    }
}

/// A series' value as mapping leaves it: a count, or the age of the oldest entry in a
/// state, kept as its earliest `observationDate` until [`timed`] counts it to an instant.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    Count(f64),
    OldestSince(Option<DateTime<Utc>>),
}

impl Value {
    /// The value at `observed_at`: an age is Genesys' now minus the earliest date, never
    /// below 0, and 0 without a date.
    fn at(self, observed_at: DateTime<Utc>) -> f64 {
        match self {
            Value::Count(count) => count,
            Value::OldestSince(earliest) => earliest.map_or(0.0, |date| {
                ((observed_at - date).num_milliseconds() as f64 / 1000.0).max(0.0)
            }),
        }
    }
}

/// One family's series: label values to (label names, value).
type SeriesByLabels = BTreeMap<Vec<String>, (Arc<[String]>, Value)>;

/// Families by name, each series once (the first value wins; a zero only fills a gap).
#[derive(Default)]
struct Builder {
    families: BTreeMap<String, (String, SeriesByLabels)>,
    /// The (queue, presence id) entries summed into system presences so far, so that a
    /// repeated entry is skipped rather than counted twice.
    presences_summed: HashSet<Vec<String>>,
}

impl Builder {
    /// The series of a family, which is created (empty) when new.
    fn series(&mut self, family: &str, help: &str) -> &mut SeriesByLabels {
        &mut self
            .families
            .entry(family.to_string())
            .or_insert_with(|| (help.to_string(), BTreeMap::new()))
            .1
    }

    /// Sets a series; false if it was already set (a repeat).
    fn set(
        &mut self,
        family: &str,
        help: &str,
        names: &Arc<[String]>,
        values: Vec<String>,
        value: Value,
    ) -> bool {
        match self.series(family, help).entry(values) {
            std::collections::btree_map::Entry::Occupied(_) => false,
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert((Arc::clone(names), value));
                true
            }
        }
    }

    fn zero(&mut self, family: &str, help: &str, names: &Arc<[String]>, values: Vec<String>) {
        self.set(family, help, names, values, Value::Count(0.0));
    }

    fn finish(self) -> Untimed {
        let families = self
            .families
            .into_iter()
            .map(|(name, (help, series))| UntimedFamily {
                name: name.into(),
                help: help.into(),
                samples: series
                    .into_iter()
                    .map(|(values, (names, value))| {
                        (LabelSet::new(Labels::new(names, values)), value)
                    })
                    .collect(),
            })
            .collect();
        Untimed { families }
    }
}

/// Mapped observation series before they are counted to an instant: the ages of detail
/// metrics are still their earliest dates. A pushed set keeps each queue's between
/// publishes (a pushed set's state), maps again only the queues an event changed,
/// and times them all together ([`timed`]); labels are rendered once, when mapped.
#[derive(Debug, Default)]
pub struct Untimed {
    /// Sorted by name, each family's samples sorted by label values.
    families: Vec<UntimedFamily>,
}

#[derive(Debug)]
struct UntimedFamily {
    name: Arc<str>,
    help: Arc<str>,
    samples: Vec<(LabelSet, Value)>,
}

/// The family of an observation metric: `oOnQueueUsers` -> `genesys_queue_on_queue_users`.
pub fn family_name(metric: &str) -> String {
    format!("{PREFIX}{}", split_metric(metric).1)
}

/// The family of a detail metric's oldest entry: `oWaiting` ->
/// `genesys_queue_oldest_waiting_seconds`.
pub fn oldest_family_name(metric: &str) -> String {
    format!("{PREFIX}oldest_{}_seconds", split_metric(metric).1)
}

fn help(metric: &str) -> String {
    match metric {
        "oWaiting" => {
            "Conversations waiting in the queue now, by media type (Genesys oWaiting)".into()
        }
        "oAlerting" => {
            "Conversations alerting an agent now, by media type (Genesys oAlerting)".into()
        }
        "oInteracting" => {
            "Conversations agents are handling now, by media type (Genesys oInteracting)".into()
        }
        "oOnQueueUsers" => {
            "Members of the queue on queue now, by routing status (Genesys oOnQueueUsers)".into()
        }
        "oOffQueueUsers" => {
            "Members of the queue logged in but off queue now (Genesys oOffQueueUsers)".into()
        }
        "oMemberUsers" => "Members of the queue (Genesys oMemberUsers)".into(),
        "oActiveUsers" => "Members of the queue who are active now (Genesys oActiveUsers)".into(),
        "oUserRoutingStatuses" => {
            "Members of the queue by routing status now (Genesys oUserRoutingStatuses)".into()
        }
        "oUserPresences" => "Members of the queue by presence now (Genesys oUserPresences)".into(),
        other => format!("Genesys queue observation {other}, count"),
    }
}

fn oldest_help(metric: &str) -> String {
    format!(
        "Seconds the longest-{} conversation has been in that state, by media type (Genesys' clock minus the earliest {metric} observationDate); 0 when there is none",
        split_metric(metric).1
    )
}

/// Maps the answers of one refresh of `config` over `queues` (the ids asked for),
/// observed at `observed_at` (Genesys' clock when the answers arrived).
pub fn map_observations(
    config: &ObservationConfig,
    queues: &[String],
    responses: &[ObservationResponse],
    queue_names: &HashMap<String, String>,
    observed_at: DateTime<Utc>,
) -> MappedObservations {
    let (untimed, warnings) = map_untimed(config, queues, responses, queue_names);
    MappedObservations {
        series: timed(&config.name, [&untimed], observed_at),
        warnings,
    }
}

/// [`map_observations`] but for the instant: every series of `queues` but the set's
/// observation timestamp, with the number of entries skipped. Mapped queue by queue (a
/// call each, `responses` holding that queue's groups and every answer's
/// `systemToOrganizationMappings`), the series are those of one call over all of them.
pub fn map_untimed(
    config: &ObservationConfig,
    queues: &[String],
    responses: &[ObservationResponse],
    queue_names: &HashMap<String, String>,
) -> (Untimed, u64) {
    let shapes = Shapes::new();
    let mut builder = Builder::default();
    let mut warnings = 0u64;
    let name_of = |queue: &str| queue_names.get(queue).cloned().unwrap_or_default();
    let base = |queue: &str| vec![config.name.clone(), queue.to_string(), name_of(queue)];
    let asked: std::collections::HashSet<&str> = queues.iter().map(String::as_str).collect();

    // Presence ids to system presences, from every answer.
    let mut presences: BTreeMap<String, String> = BTreeMap::new();
    for response in responses {
        for (system, ids) in &response.system_to_organization_mappings {
            for id in ids {
                presences
                    .entry(id.clone())
                    .or_insert_with(|| system.clone());
            }
        }
    }

    for response in responses {
        for result in &response.results {
            let Some(queue) = result.group.get("queueId").map(|v| v.0.as_str()) else {
                warnings += result.data.len() as u64;
                continue;
            };
            if !asked.contains(queue) {
                warnings += result.data.len() as u64;
                continue;
            }
            let media = result.group.get("mediaType").map(|v| v.0.as_str());
            for entry in &result.data {
                if !config.metrics.contains(&entry.metric) {
                    continue;
                }
                warnings += add_entry(
                    &mut builder,
                    &shapes,
                    config,
                    entry,
                    base(queue),
                    media,
                    &presences,
                );
            }
        }
    }

    // Zero-fill.
    let media_types = config.zero_fill_media_types();
    let system_presences: BTreeSet<&str> = presences.values().map(String::as_str).collect();
    for queue in queues {
        for metric in &config.metrics {
            let family = family_name(metric);
            let help = help(metric);
            let mut with = |shape: &Arc<[String]>, extra: &[&str]| {
                let mut values = base(queue);
                values.extend(extra.iter().map(|s| s.to_string()));
                builder.zero(&family, &help, shape, values);
            };
            match metric.as_str() {
                m if CONVERSATION_METRICS.contains(&m) => {
                    for media in &media_types {
                        with(&shapes.media, &[media]);
                    }
                }
                "oOnQueueUsers" => {
                    for status in ON_QUEUE_STATUSES {
                        with(&shapes.routing, &[status]);
                    }
                }
                "oUserRoutingStatuses" => {
                    for status in ROUTING_STATUSES {
                        with(&shapes.routing, &[status]);
                    }
                }
                "oUserPresences" if config.presence_ids => {
                    for (id, system) in &presences {
                        with(&shapes.presence, &[system, id]);
                    }
                }
                "oUserPresences" => {
                    for system in &system_presences {
                        with(&shapes.system_presence, &[system]);
                    }
                }
                _ => with(&shapes.queue, &[]),
            }
        }
        for metric in &config.detail_metrics {
            for media in &media_types {
                let mut values = base(queue);
                values.push(media.to_string());
                builder.zero(
                    &oldest_family_name(metric),
                    &oldest_help(metric),
                    &shapes.media,
                    values,
                );
            }
        }
    }

    (builder.finish(), warnings)
}

/// The series of `parts` (mapped by [`map_untimed`], in the order of their queue ids)
/// observed at `observed_at`, with set `set`'s observation timestamp: families sorted by
/// name, each holding every part's samples in turn.
pub fn timed<'a>(
    set: &str,
    parts: impl IntoIterator<Item = &'a Untimed>,
    observed_at: DateTime<Utc>,
) -> QuerySeries {
    let mut families: BTreeMap<&str, Family> = BTreeMap::new();
    for part in parts {
        for family in &part.families {
            let into = families.entry(&family.name).or_insert_with(|| Family {
                name: Arc::clone(&family.name),
                help: Arc::clone(&family.help),
                samples: Vec::new(),
            });
            into.samples
                .extend(family.samples.iter().map(|(labels, value)| Sample {
                    labels: Arc::clone(labels),
                    value: value.at(observed_at),
                }));
        }
    }
    let timestamp = Family {
        name: format!("{PREFIX}observation_timestamp_seconds").into(),
        help:
            "When (Unix time, Genesys' clock) the genesys_queue_* values of the query were observed"
                .into(),
        samples: vec![Sample {
            labels: LabelSet::new(Labels::new(
                Arc::from(["query".to_string()]),
                vec![set.to_string()],
            )),
            value: observed_at.timestamp_millis() as f64 / 1000.0,
        }],
    };
    let mut series: Vec<Family> = families.into_values().collect();
    let at = series.partition_point(|family| *family.name < *timestamp.name);
    series.insert(at, timestamp);
    QuerySeries { families: series }
}

/// Adds one metric entry of one group; returns the number of things skipped.
fn add_entry(
    builder: &mut Builder,
    shapes: &Shapes,
    config: &ObservationConfig,
    entry: &ObservationMetric,
    mut values: Vec<String>,
    media: Option<&str>,
    presences: &BTreeMap<String, String>,
) -> u64 {
    let metric = entry.metric.as_str();
    let Some(count) = entry.stats.get("count") else {
        return 1;
    };
    let qualifier = entry.qualifier.as_deref().filter(|q| !q.is_empty());
    if let ("oUserPresences", Some(id), false) = (metric, qualifier, config.presence_ids) {
        let mut summed = values.clone();
        summed.push(id.to_string());
        if !builder.presences_summed.insert(summed) {
            return 1;
        }
        values.push(presences.get(id).cloned().unwrap_or_default());
        let sum = &mut builder
            .series(&family_name(metric), &help(metric))
            .entry(values)
            .or_insert_with(|| (Arc::clone(&shapes.system_presence), Value::Count(0.0)))
            .1;
        if let Value::Count(sum) = sum {
            *sum += count;
        }
        return 0;
    }
    let shape = match (metric, qualifier, media) {
        ("oOnQueueUsers" | "oUserRoutingStatuses", Some(status), _) => {
            values.push(status.to_string());
            &shapes.routing
        }
        ("oUserPresences", Some(id), _) => {
            values.push(presences.get(id).cloned().unwrap_or_default());
            values.push(id.to_string());
            &shapes.presence
        }
        (_, Some(other), _) => {
            values.push(other.to_string());
            &shapes.qualifier
        }
        (_, None, Some(media)) => {
            values.push(media.to_string());
            &shapes.media
        }
        (_, None, None) => &shapes.queue,
    };
    let mut skipped = 0;
    if !builder.set(
        &family_name(metric),
        &help(metric),
        shape,
        values.clone(),
        Value::Count(count),
    ) {
        skipped += 1;
    }
    if config.detail_metrics.iter().any(|m| m == metric)
        && let Some(media) = media
    {
        let mut earliest: Option<DateTime<Utc>> = None;
        for observation in &entry.observations {
            match observation
                .observation_date
                .as_deref()
                .map(DateTime::parse_from_rfc3339)
            {
                Some(Ok(date)) => {
                    let date = date.with_timezone(&Utc);
                    earliest = Some(earliest.map_or(date, |e| e.min(date)));
                }
                _ => skipped += 1,
            }
        }
        let mut labels = values;
        labels.truncate(3);
        labels.push(media.to_string());
        builder.set(
            &oldest_family_name(metric),
            &oldest_help(metric),
            &shapes.media,
            labels,
            Value::OldestSince(earliest),
        );
    }
    skipped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn config(extra: &str) -> ObservationConfig {
        let text = format!(
            "observations:\n  - {{name: live, metrics: [oWaiting, oInteracting, oOnQueueUsers, oUserPresences, oMemberUsers], detail_metrics: [oWaiting]{extra}}}\n"
        );
        Config::from_yaml(&text, "t.yaml")
            .unwrap()
            .observations
            .remove(0)
    }

    fn response(json: &str) -> ObservationResponse {
        serde_json::from_str(json).unwrap()
    }

    fn value(series: &QuerySeries, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = series.families.iter().find(|f| *f.name == *family)?;
        family
            .samples
            .iter()
            .find(|s| {
                labels
                    .iter()
                    .all(|(n, v)| s.labels.pairs().any(|(pn, pv)| pn == *n && pv == *v))
            })
            .map(|s| s.value)
    }

    const NOW: &str = "2026-12-01T09:40:00Z";

    fn answer() -> ObservationResponse {
        response(
            r#"{"systemToOrganizationMappings": {"ON_QUEUE": ["p-on"], "AVAILABLE": ["p-av"]},
            "results": [
              {"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
                {"metric": "oWaiting", "stats": {"count": 2}, "truncated": false, "observations": [
                  {"observationDate": "2026-12-01T09:35:00.000Z", "conversationId": "secret-c1"},
                  {"observationDate": "2026-12-01T09:38:30.000Z", "conversationId": "secret-c2"}]},
                {"metric": "oInteracting", "stats": {"count": 5}}]},
              {"group": {"queueId": "q1"}, "data": [
                {"metric": "oOnQueueUsers", "qualifier": "IDLE", "stats": {"count": 4}},
                {"metric": "oUserPresences", "qualifier": "p-on", "stats": {"count": 10}},
                {"metric": "oMemberUsers", "stats": {"count": 25}}]},
              {"group": {"queueId": "stranger"}, "data": [{"metric": "oMemberUsers", "stats": {"count": 1}}]}]}"#,
        )
    }

    #[test]
    fn counts_map_to_named_gauges_with_named_qualifier_labels() {
        let queues = vec!["q1".to_string(), "q2".to_string()];
        let names = HashMap::from([("q1".to_string(), "Billing".to_string())]);
        let mapped = map_observations(
            &config(", presence_ids: true"),
            &queues,
            &[answer()],
            &names,
            NOW.parse().unwrap(),
        );
        let s = &mapped.series;
        let q1 = ("queue_id", "q1");
        assert_eq!(
            value(
                s,
                "genesys_queue_waiting",
                &[
                    q1,
                    ("media_type", "voice"),
                    ("queue_name", "Billing"),
                    ("query", "live")
                ]
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_queue_interacting",
                &[q1, ("media_type", "voice")]
            ),
            Some(5.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_queue_on_queue_users",
                &[q1, ("routing_status", "IDLE")]
            ),
            Some(4.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_queue_user_presences",
                &[q1, ("system_presence", "ON_QUEUE"), ("presence_id", "p-on")]
            ),
            Some(10.0)
        );
        assert_eq!(value(s, "genesys_queue_member_users", &[q1]), Some(25.0));
        // The oldest of the two waits: 09:40:00 - 09:35:00.
        assert_eq!(
            value(
                s,
                "genesys_queue_oldest_waiting_seconds",
                &[q1, ("media_type", "voice")]
            ),
            Some(300.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_queue_observation_timestamp_seconds",
                &[("query", "live")]
            ),
            Some(1_796_118_000.0)
        );
        // A queue not asked for is skipped and counted.
        assert_eq!(mapped.warnings, 1);
        assert!(value(s, "genesys_queue_member_users", &[("queue_id", "stranger")]).is_none());
        // Conversation ids are never exported.
        let text = format!("{s:?}");
        assert!(!text.contains("secret-c1"));
    }

    #[test]
    fn every_observed_queue_reads_zero_for_what_genesys_left_out() {
        let queues = vec!["q1".to_string(), "q2".to_string()];
        let mapped = map_observations(
            &config(""),
            &queues,
            &[answer()],
            &HashMap::new(),
            NOW.parse().unwrap(),
        );
        let s = &mapped.series;
        let q2 = ("queue_id", "q2");
        for media in DEFAULT_MEDIA {
            assert_eq!(
                value(s, "genesys_queue_waiting", &[q2, ("media_type", media)]),
                Some(0.0),
                "{media}"
            );
            assert_eq!(
                value(
                    s,
                    "genesys_queue_oldest_waiting_seconds",
                    &[q2, ("media_type", media)]
                ),
                Some(0.0)
            );
        }
        assert_eq!(
            value(
                s,
                "genesys_queue_waiting",
                &[("queue_id", "q1"), ("media_type", "chat")]
            ),
            Some(0.0)
        );
        for status in ON_QUEUE_STATUSES {
            assert_eq!(
                value(
                    s,
                    "genesys_queue_on_queue_users",
                    &[q2, ("routing_status", status)]
                ),
                Some(0.0)
            );
        }
        assert_eq!(
            value(
                s,
                "genesys_queue_user_presences",
                &[q2, ("system_presence", "AVAILABLE")]
            ),
            Some(0.0)
        );
        assert_eq!(value(s, "genesys_queue_member_users", &[q2]), Some(0.0));
    }

    /// An answer for `queues` whose org defines `per_system` organization presences for
    /// each of ten system presences, with one member in each.
    fn org_with_presences(queues: &[String], per_system: usize) -> ObservationResponse {
        let systems = [
            "AVAILABLE",
            "AWAY",
            "BUSY",
            "OFFLINE",
            "IDLE",
            "ON_QUEUE",
            "MEAL",
            "TRAINING",
            "MEETING",
            "BREAK",
        ];
        let ids = |system: &str| -> Vec<String> {
            (0..per_system).map(|i| format!("{system}-{i}")).collect()
        };
        let mappings: serde_json::Map<String, serde_json::Value> = systems
            .iter()
            .map(|system| (system.to_string(), serde_json::json!(ids(system))))
            .collect();
        let results: Vec<serde_json::Value> = queues
            .iter()
            .map(|queue| {
                let data: Vec<serde_json::Value> = systems
                    .iter()
                    .flat_map(|system| ids(system))
                    .map(|id| serde_json::json!({"metric": "oUserPresences", "qualifier": id, "stats": {"count": 1}}))
                    .collect();
                serde_json::json!({"group": {"queueId": queue}, "data": data})
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "systemToOrganizationMappings": mappings,
            "results": results,
        }))
        .unwrap()
    }

    fn series_count(series: &QuerySeries) -> usize {
        series.families.iter().map(|f| f.samples.len()).sum()
    }

    #[test]
    fn the_builtin_set_costs_as_many_series_whatever_presences_the_org_defines() {
        let queues: Vec<String> = (0..3).map(|i| format!("q{i}")).collect();
        let count = |set: &ObservationConfig, per_system| {
            let answer = org_with_presences(&queues, per_system);
            let mapped = map_observations(
                set,
                &queues,
                &[answer],
                &HashMap::new(),
                NOW.parse().unwrap(),
            );
            // Less the one timestamp of the set.
            (series_count(&mapped.series) - 1) / queues.len()
        };
        let live = ObservationConfig::builtin_live();
        let (ten, thirty) = (count(&live, 1), count(&live, 3));
        assert_eq!(ten, thirty, "series a queue with 10 and with 30 presences");
        // The budget docs/configuration.md and BENCHMARKS.md give for 1,000 queues.
        assert!(ten <= 27, "{ten} series a queue");
        // The built-in set leaves `oUserPresences` out, which alone makes the above
        // hold; a set with it, summed per system presence, costs as much whatever the
        // org's presences too.
        let summed = config("");
        assert!(summed.metrics.iter().any(|m| m == "oUserPresences"));
        let (ten, thirty) = (count(&summed, 1), count(&summed, 3));
        assert_eq!(
            ten, thirty,
            "series a queue with oUserPresences, 10 and 30 presences"
        );
    }

    #[test]
    fn presences_are_summed_per_system_presence_unless_presence_ids_is_set() {
        let answer = || {
            response(
                r#"{"systemToOrganizationMappings": {"ON_QUEUE": ["p-on", "p-on2"], "AVAILABLE": ["p-av"]},
                "results": [{"group": {"queueId": "q1"}, "data": [
                    {"metric": "oUserPresences", "qualifier": "p-on", "stats": {"count": 10}},
                    {"metric": "oUserPresences", "qualifier": "p-on2", "stats": {"count": 5}},
                    {"metric": "oUserPresences", "qualifier": "p-on2", "stats": {"count": 7}}]}]}"#,
            )
        };
        let queues = vec!["q1".to_string(), "q2".to_string()];
        let map = |extra: &str| {
            map_observations(
                &config(extra),
                &queues,
                &[answer()],
                &HashMap::new(),
                NOW.parse().unwrap(),
            )
        };
        let family = "genesys_queue_user_presences";

        let summed = map("");
        let presences = summed
            .series
            .families
            .iter()
            .find(|f| *f.name == *family)
            .unwrap();
        // Two system presences for each of two queues; no presence_id label.
        assert_eq!(presences.samples.len(), 4);
        assert!(
            presences
                .samples
                .iter()
                .all(|s| s.labels.pairs().all(|(name, _)| name != "presence_id"))
        );
        let on_queue = |queue| [("queue_id", queue), ("system_presence", "ON_QUEUE")];
        assert_eq!(value(&summed.series, family, &on_queue("q1")), Some(15.0));
        assert_eq!(value(&summed.series, family, &on_queue("q2")), Some(0.0));
        // The repeated p-on2 entry is skipped and counted, not added.
        assert_eq!(summed.warnings, 1);

        let by_id = map(", presence_ids: true");
        let samples = |mapped: &MappedObservations| {
            mapped
                .series
                .families
                .iter()
                .find(|f| *f.name == *family)
                .map_or(0, |f| f.samples.len())
        };
        // One series per presence id and queue.
        assert_eq!(samples(&by_id), 6);
        assert_eq!(
            value(
                &by_id.series,
                family,
                &[("queue_id", "q1"), ("presence_id", "p-on2")]
            ),
            Some(5.0)
        );
    }

    const DEFAULT_MEDIA: [&str; 5] = ["voice", "callback", "chat", "email", "message"];

    #[test]
    fn configured_media_types_replace_the_default_zero_fill() {
        let queues = vec!["q2".to_string()];
        let mapped = map_observations(
            &config(", media_types: [chat]"),
            &queues,
            &[],
            &HashMap::new(),
            NOW.parse().unwrap(),
        );
        let s = &mapped.series;
        assert_eq!(
            value(s, "genesys_queue_waiting", &[("media_type", "chat")]),
            Some(0.0)
        );
        assert!(value(s, "genesys_queue_waiting", &[("media_type", "voice")]).is_none());
    }

    #[test]
    fn odd_entries_are_skipped_and_counted() {
        let odd = response(
            r#"{"results": [
              {"group": {"mediaType": "voice"}, "data": [{"metric": "oWaiting", "stats": {"count": 1}}]},
              {"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
                {"metric": "oWaiting", "stats": {}},
                {"metric": "oInteracting", "stats": {"count": 1}},
                {"metric": "oInteracting", "stats": {"count": 9}}]}]}"#,
        );
        let queues = vec!["q1".to_string()];
        let mapped = map_observations(
            &config(""),
            &queues,
            &[odd],
            &HashMap::new(),
            NOW.parse().unwrap(),
        );
        assert_eq!(mapped.warnings, 3);
        assert_eq!(
            value(
                &mapped.series,
                "genesys_queue_interacting",
                &[("media_type", "voice")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_queue_waiting",
                &[("media_type", "voice")]
            ),
            Some(0.0)
        );
    }
}
