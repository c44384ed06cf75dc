//! Genesys metric stats to Prometheus series: names, units, labels and zero-fill.
//!
//! Pure: a response and the query it answers go in, metric families come out. The rules
//! (see the README's metric table and docs/sources.md, which lists every source's names):
//! - a series is `genesys_{domain}_{rest}{suffix}`, the domain being the query's source's
//!   ([`crate::genesys::sources`]) and `rest` the metric's name without its type letter,
//!   in snake case, without the domain's words at its start ([`series_base`]);
//! - `nOffered.count` becomes `genesys_conversation_offered`, `nFlow.count`
//!   `genesys_flow_count`;
//! - `tHandle.sum` (ms) becomes `genesys_conversation_handle_seconds_sum` (s), and so on for
//!   `count`, `max`, `min`, `p95`, `p99` (`count` is not converted);
//! - `oServiceLevel.ratio` becomes `genesys_conversation_service_level_ratio`;
//! - labels `query`, `interval`, one per `group_by` dimension in snake_case (empty when a
//!   group lacks it), a name beside each named id (`queue_name` beside `queue_id`,
//!   `user_name` beside `user_id`, ...; see [`crate::genesys::names`]; empty when the id
//!   has no name), and `qualifier` when the API sent one, or the label the source's table
//!   gives the qualifier of that metric (`routing_status`; `presence_id` then its name
//!   `presence_name`).
//!
//! Genesys leaves out what had no data. So that an abandon rate reads 0 rather than "no
//! data", a requested count absent from a group reads 0, an absent timer reads
//! `_seconds_count` 0 and `_seconds_sum` 0 (those of them the source answers: users'
//! timers have only a sum), a named qualifier with known values reads 0 for each value
//! absent, and a group seen in the last 24 hours but absent now is exported the same way.

pub mod agent_states;
pub mod agents;
mod families;
mod help;
pub mod observations;
pub mod trunks;
pub mod voice;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::config::QueryConfig;
use crate::conventions::snake_case;
use crate::genesys::bodies::{AggregateBucket, AggregateResponse, AggregateResult};
use crate::genesys::names::{self, Names};
use crate::genesys::sources::Source;
use crate::interval::Interval;
use crate::series::{Family, LabelSet, Labels, QuerySeries, Sample};
use families::FamilyBuilder;

/// How long a group that stopped appearing is still exported with zero counts.
const GROUP_MEMORY: TimeDelta = TimeDelta::hours(24);
/// Timer stats that are exported, in this order; all but `count` are milliseconds.
pub use crate::genesys::sources::TIMER_STATS;

/// The result of mapping one response.
#[derive(Debug)]
pub struct Mapped {
    pub series: QuerySeries,
    /// Parts of the response that were skipped (non-numeric stats, buckets of another
    /// interval, unparseable intervals, repeated entries), for a counted warning.
    pub warnings: u64,
}

/// Groups seen recently, by their `group_by` values, with the end of the last interval
/// they appeared in. Kept by each query between polls.
#[derive(Debug, Default)]
pub struct GroupMemory {
    last_seen: HashMap<Vec<String>, DateTime<Utc>>,
}

impl GroupMemory {
    /// How many groups are remembered: about as many as the next answer brings.
    pub fn groups(&self) -> usize {
        self.last_seen.len()
    }

    /// Notes that the groups `seen` had data in the interval ending at `end`, forgets
    /// the groups not seen for 24 hours, and returns the others not seen now: those to
    /// zero-fill. For mappings other than the aggregates' (voice quality).
    pub fn note(&mut self, seen: &[&Vec<String>], end: DateTime<Utc>) -> Vec<Vec<String>> {
        let horizon = end - GROUP_MEMORY;
        self.last_seen.retain(|_, at| *at > horizon);
        let now: std::collections::HashSet<&Vec<String>> = seen.iter().copied().collect();
        let quiet = self
            .last_seen
            .keys()
            .filter(|key| !now.contains(key))
            .cloned()
            .collect();
        for key in seen {
            self.last_seen.insert((*key).clone(), end);
        }
        quiet
    }
}

/// Maps the response to `query` for `interval` into metric families: its results
/// through a [`GroupMapping`], one after the other.
pub fn map_response(
    query: &QueryConfig,
    interval: &Interval,
    response: &AggregateResponse,
    names: &Names,
    memory: &mut GroupMemory,
) -> Mapped {
    let mut mapping = GroupMapping::new(query, *interval, names, response.results.len());
    for result in &response.results {
        mapping.add(result);
    }
    mapping.finish(memory)
}

/// The mapping of one answer to `query` for one interval, fed result by result (group
/// by group) as the results come, so that a live poll maps its answer as it streams in
/// and never holds it whole. The series are those of the whole answer, in the same
/// order: the groups with data sorted by their `group_by` values (whatever order they
/// came in), zero-filled once every result is in (a group may come in several
/// results: the first entry of a metric and qualifier wins), then the quiet groups of
/// the memory. An attempt's results can be forgotten again ([`GroupMapping::rollback`]),
/// so that a request whose answer broke off can be sent again.
pub struct GroupMapping<Q> {
    query: Q,
    interval: Interval,
    /// Shared by the mappings [`GroupMapping::fresh`] makes.
    label_names: Arc<LabelNames>,
    /// Each requested metric's position, by name: one lookup per entry.
    metric_index: Arc<HashMap<String, usize>>,
    builder: FamilyBuilder,
    /// The `{query, interval}` labels of the interval's bounds.
    interval_labels: LabelSet,
    /// The families of the interval's start and end.
    interval_families: [usize; 2],
    /// The groups with data, in the order they came; [`GroupMapping::by_key`] has
    /// their positions.
    groups: Vec<Group>,
    by_key: HashMap<Vec<String>, usize>,
    warnings: u64,
    checkpoint: Checkpoint,
}

/// One group with data: its labels and the (metric, qualifier) pairs it exported.
struct Group {
    labels: LabelSet,
    exported: Vec<(usize, Option<String>)>,
}

/// What [`GroupMapping::rollback`] returns to.
#[derive(Default)]
struct Checkpoint {
    /// Samples per family.
    samples: Vec<usize>,
    groups: usize,
    warnings: u64,
    /// Earlier groups that got entries since, with how many pairs they had exported.
    grown: Vec<(usize, usize)>,
}

impl<Q: Borrow<QueryConfig>> GroupMapping<Q> {
    /// A mapping of `query`'s answer for `interval`, with about `groups` groups
    /// expected (the last answer's, say: each family's samples are sized by it).
    pub fn new(query: Q, interval: Interval, names: &Names, groups: usize) -> GroupMapping<Q> {
        let config = query.borrow();
        let label_names = LabelNames::of(config, names);
        let interval_labels: LabelSet = Arc::new(Labels::new(
            Arc::from(["query".to_string(), "interval".to_string()]),
            vec![config.name.clone(), label_names.granularity.clone()],
        ));
        let mut builder = FamilyBuilder::new(config.source, &config.metrics, groups);
        let prefix = config.source.prefix();
        let interval_families = [
            builder.family(format!("{prefix}interval_start_timestamp_seconds"), || {
                format!("Start (Unix time) of the interval the {prefix}* values describe: the last completed interval, polled in the background")
            }),
            builder.family(format!("{prefix}interval_end_timestamp_seconds"), || {
                format!("End (Unix time, exclusive) of the interval the {prefix}* values describe")
            }),
        ];
        GroupMapping {
            label_names: Arc::new(label_names),
            metric_index: Arc::new(
                config
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(index, metric)| (metric.clone(), index))
                    .collect(),
            ),
            builder,
            interval_labels,
            interval_families,
            query,
            interval,
            groups: Vec::new(),
            by_key: HashMap::new(),
            warnings: 0,
            checkpoint: Checkpoint::default(),
        }
    }

    /// A mapping of the same query for `interval` with nothing added, as
    /// [`GroupMapping::new`] would make it, but sharing this one's label names and
    /// family names instead of making them again: the history maps each group of an
    /// answer bucket by bucket, hundreds of thousands of times a request, where making
    /// them was most of the work.
    pub fn fresh(&self, interval: Interval) -> GroupMapping<Q>
    where
        Q: Clone,
    {
        GroupMapping {
            query: self.query.clone(),
            interval,
            label_names: Arc::clone(&self.label_names),
            metric_index: Arc::clone(&self.metric_index),
            builder: self.builder.emptied(),
            interval_labels: Arc::clone(&self.interval_labels),
            interval_families: self.interval_families,
            groups: Vec::new(),
            by_key: HashMap::new(),
            warnings: 0,
            checkpoint: Checkpoint::default(),
        }
    }

    /// Maps one result: its entries for the interval (buckets of another are skipped
    /// and counted), exported under its group's labels.
    pub fn add(&mut self, result: &AggregateResult) {
        let mut buckets = Vec::with_capacity(1);
        for bucket in &result.data {
            match Interval::parse_iso8601(&bucket.interval) {
                Ok(bucket_interval) if bucket_interval.start == self.interval.start => {
                    buckets.push(bucket);
                }
                _ => self.warnings += 1,
            }
        }
        // A group with no entry for this interval had no data: it is left to the memory.
        if buckets.iter().all(|bucket| bucket.metrics.is_empty()) {
            return;
        }
        let key = group_key(self.query.borrow(), result);
        self.add_entries(key, None, &buckets);
    }

    /// The labels of the group `key` (its `group_by` values, as [`group_key`] makes
    /// them), as [`GroupMapping::add`] gives its series: for a caller that maps one
    /// group bucket by bucket, to make them once for all its buckets.
    pub fn group_labels(&self, key: &[String]) -> LabelSet {
        self.label_names.group(self.query.borrow(), key)
    }

    /// Maps `bucket`, one bucket of the group `key` whose labels are `labels` (from
    /// [`GroupMapping::group_labels`]): what [`GroupMapping::add`] does with a result
    /// holding that bucket alone, the caller having checked that it is this mapping's
    /// interval.
    pub fn add_bucket(&mut self, key: Vec<String>, labels: &LabelSet, bucket: &AggregateBucket) {
        if !bucket.metrics.is_empty() {
            self.add_entries(key, Some(labels), &[bucket]);
        }
    }

    /// Exports the entries of `buckets` (of this interval) under the group `key`'s
    /// labels: `labels` when given, made from the key otherwise.
    fn add_entries(
        &mut self,
        key: Vec<String>,
        labels: Option<&LabelSet>,
        buckets: &[&AggregateBucket],
    ) {
        let query = self.query.borrow();
        let position = match self.by_key.get(&key) {
            Some(&position) => {
                if position < self.checkpoint.groups {
                    let exported = self.groups[position].exported.len();
                    self.checkpoint.grown.push((position, exported));
                }
                position
            }
            None => {
                let labels = match labels {
                    Some(labels) => Arc::clone(labels),
                    None => self.label_names.group(query, &key),
                };
                self.groups.push(Group {
                    labels,
                    exported: Vec::new(),
                });
                self.by_key.insert(key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        self.builder.group = position as u32;
        let group = &mut self.groups[position];
        for entry in buckets.iter().flat_map(|bucket| &bucket.metrics) {
            // A metric not asked for is not exported.
            let Some(&metric) = self.metric_index.get(entry.metric.as_str()) else {
                continue;
            };
            // One entry per qualifier: a repeat (the same metric twice in a bucket, or a
            // group sent twice) would make series with the same labels. The first wins.
            // An empty qualifier is no qualifier, as an empty label is to Prometheus.
            let qualifier = entry.qualifier.as_deref().filter(|q| !q.is_empty());
            if group
                .exported
                .iter()
                .any(|(m, q)| *m == metric && q.as_deref() == qualifier)
            {
                self.warnings += 1;
                continue;
            }
            group.exported.push((metric, qualifier.map(str::to_string)));
            self.warnings += u64::from(entry.stats.skipped);
            let labels = match qualifier {
                Some(qualifier) => {
                    self.label_names
                        .with_qualifier(&group.labels, metric, qualifier)
                }
                None => Arc::clone(&group.labels),
            };
            self.warnings += self.builder.add_stats(metric, &entry.stats, &labels);
        }
    }

    /// Names the groups added from now on by `names` (users looked up meanwhile).
    pub fn rename(&mut self, names: &Names) {
        self.label_names = Arc::new(LabelNames::of(self.query.borrow(), names));
    }

    /// Marks the state [`GroupMapping::rollback`] returns to.
    pub fn checkpoint(&mut self) {
        self.checkpoint = Checkpoint {
            samples: self.builder.sample_counts(),
            groups: self.groups.len(),
            warnings: self.warnings,
            grown: Vec::new(),
        };
    }

    /// Forgets every result added since the last [`GroupMapping::checkpoint`].
    pub fn rollback(&mut self) {
        let checkpoint = &mut self.checkpoint;
        self.builder.truncate(&checkpoint.samples);
        for (position, exported) in checkpoint.grown.drain(..).rev() {
            self.groups[position].exported.truncate(exported);
        }
        let kept = checkpoint.groups;
        self.groups.truncate(kept);
        self.by_key.retain(|_, position| *position < kept);
        self.warnings = checkpoint.warnings;
    }

    /// The series of every result added: each group zero-filled for what it lacks,
    /// the groups seen in the last 24 hours but quiet now zero-filled, the interval's
    /// bounds; `memory` notes the groups seen.
    pub fn finish(mut self, memory: &mut GroupMemory) -> Mapped {
        for (position, group) in self.groups.iter().enumerate() {
            self.builder.group = position as u32;
            zero_fill(
                &mut self.builder,
                &self.label_names,
                &group.labels,
                &group.exported,
            );
        }
        let mut order: Vec<(&Vec<String>, usize)> = self
            .by_key
            .iter()
            .map(|(key, &position)| (key, position))
            .collect();
        order.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut rank = vec![0u32; self.groups.len()];
        for (at, (_, position)) in order.iter().enumerate() {
            rank[*position] = at as u32;
        }
        self.builder.order_groups(&rank);
        drop(self.groups);

        let query = self.query.borrow();
        // Groups seen in the last 24 hours but quiet now read as zero.
        let horizon = self.interval.end - GROUP_MEMORY;
        memory.last_seen.retain(|_, seen| *seen > horizon);
        for (key, _) in memory
            .last_seen
            .iter()
            .filter(|(k, _)| !self.by_key.contains_key(*k))
        {
            let labels = self.label_names.group(query, key);
            zero_fill(&mut self.builder, &self.label_names, &labels, &[]);
        }
        for (key, _) in self.by_key {
            memory.last_seen.insert(key, self.interval.end);
        }

        let [start, end] = self.interval_families;
        self.builder.push_to(
            start,
            &self.interval_labels,
            self.interval.start.timestamp() as f64,
        );
        self.builder.push_to(
            end,
            &self.interval_labels,
            self.interval.end.timestamp() as f64,
        );

        Mapped {
            series: self.builder.finish(),
            warnings: self.warnings,
        }
    }
}

/// A result's group as the mapping keys it (and [`GroupMemory`] remembers it): its
/// `group_by` values in order, empty where the result lacks one.
pub fn group_key(query: &QueryConfig, result: &AggregateResult) -> Vec<String> {
    query
        .group_by
        .iter()
        .map(|dimension| {
            result
                .group
                .get(dimension)
                .map(|value| value.0.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Zero-fills a group (its `labels`) for what it lacks of the query's metrics: a metric
/// none of whose entries came (`exported` lists the (metric, qualifier) pairs that did)
/// reads 0 without a qualifier, or, when its qualifier is named with known values
/// (`routing_status`), 0 for each value that did not come.
fn zero_fill(
    builder: &mut FamilyBuilder,
    label_names: &LabelNames,
    labels: &LabelSet,
    exported: &[(usize, Option<String>)],
) {
    for (metric, qualifier) in label_names.qualifiers.iter().enumerate() {
        match qualifier.values {
            [] if qualifier.named => {}
            [] => {
                if !exported.iter().any(|&(m, _)| m == metric) {
                    builder.add_zero(metric, labels);
                }
            }
            values => {
                for value in values {
                    if !exported
                        .iter()
                        .any(|(m, q)| *m == metric && q.as_deref() == Some(*value))
                    {
                        let labels = label_names.with_qualifier(labels, metric, value);
                        builder.add_zero(metric, &labels);
                    }
                }
            }
        }
    }
}

/// Adds `genesys_{domain}_data_until_timestamp_seconds{query,interval}`: how far the
/// values reach (the interval's end, or "now" for the interval in progress), keeping the
/// families sorted by name.
pub fn add_data_until(series: &mut QuerySeries, query: &QueryConfig, until: DateTime<Utc>) {
    let labels: LabelSet = Arc::new(Labels::new(
        Arc::from(["query".to_string(), "interval".to_string()]),
        vec![query.name.clone(), query.granularity.to_string()],
    ));
    let prefix = query.source.prefix();
    let family = Family {
        name: format!("{prefix}data_until_timestamp_seconds").into(),
        help: format!(
            "How far (Unix time) the {prefix}* values of the query reach: the interval's end, or when the interval in progress was polled"
        )
        .into(),
        samples: vec![Sample {
            labels,
            value: until.timestamp_millis() as f64 / 1000.0,
        }],
    };
    let at = series.families.partition_point(|f| f.name < family.name);
    series.families.insert(at, family);
}

/// What every label set of one query's poll shares, made once per poll.
struct LabelNames {
    /// `query`, `interval`, the dimensions (each name label right after its id label).
    plain: Arc<[String]>,
    /// For each requested metric, by its position: what its entries' qualifiers become.
    qualifiers: Vec<QualifierLabels>,
    /// The `interval` label's value.
    granularity: String,
    /// For each `group_by` dimension, the names of its ids when a name label follows
    /// its id label.
    names: Vec<Option<Arc<HashMap<String, String>>>>,
}

/// The labels of one metric's qualified entries.
struct QualifierLabels {
    /// The plain labels, then `qualifier` or the source's label for it (then its name
    /// label when its values are named ids).
    labels: Arc<[String]>,
    /// The names of the qualifier's ids, when a name label follows it.
    names: Option<Arc<HashMap<String, String>>>,
    /// Every value the qualifier takes, for zero-fill (empty: unknown, or ids).
    values: &'static [&'static str],
    /// Whether the source names the qualifier (then no value means no zero-fill).
    named: bool,
}

impl QualifierLabels {
    fn of(source: &Source, metric: &str, plain: &[String], names: &Names) -> QualifierLabels {
        let mut labels = plain.to_vec();
        let Some(qualifier) = source.qualifier(metric) else {
            labels.push("qualifier".to_string());
            return QualifierLabels {
                labels: Arc::from(labels),
                names: None,
                values: &[],
                named: false,
            };
        };
        labels.push(qualifier.label.to_string());
        if let Some((_, name_label)) = qualifier.name {
            labels.push(name_label.to_string());
        }
        QualifierLabels {
            labels: Arc::from(labels),
            names: qualifier.name.map(|(key, _)| names.table(key)),
            values: qualifier.values,
            named: true,
        }
    }
}

impl LabelNames {
    fn of(query: &QueryConfig, names: &Names) -> LabelNames {
        let mut labels = vec!["query".to_string(), "interval".to_string()];
        labels.extend(group_label_names(query));
        let qualifiers = query
            .metrics
            .iter()
            .map(|metric| QualifierLabels::of(query.source, metric, &labels, names))
            .collect();
        LabelNames {
            plain: Arc::from(labels),
            qualifiers,
            granularity: query.granularity.to_string(),
            names: query
                .group_by
                .iter()
                .map(|d| names::dimension(d).map(|_| names.table(d)))
                .collect(),
        }
    }

    /// The labels of the group whose `group_by` values are `key`.
    fn group(&self, query: &QueryConfig, key: &[String]) -> LabelSet {
        let mut values = Vec::with_capacity(self.plain.len());
        values.push(query.name.clone());
        values.push(self.granularity.clone());
        for (value, names) in key.iter().zip(&self.names) {
            values.push(value.clone());
            if let Some(names) = names {
                values.push(names.get(value).cloned().unwrap_or_default());
            }
        }
        Arc::new(Labels::new(Arc::clone(&self.plain), values))
    }

    /// A group's labels and the qualifier an entry of the metric at position `metric`
    /// carries (and its name, when the qualifier's values are named ids).
    fn with_qualifier(&self, labels: &Labels, metric: usize, qualifier: &str) -> LabelSet {
        let labeled = &self.qualifiers[metric];
        let mut values = labels.values().to_vec();
        values.push(qualifier.to_string());
        if let Some(names) = &labeled.names {
            values.push(names.get(qualifier).cloned().unwrap_or_default());
        }
        Arc::new(Labels::new(Arc::clone(&labeled.labels), values))
    }
}

/// The labels a query's `group_by` becomes, in export order: each dimension in
/// snake_case, with its name label right after a named id (`queue_name` after
/// `queue_id`, `user_name` after `user_id`, ...).
pub fn group_label_names(query: &QueryConfig) -> Vec<String> {
    let mut labels = Vec::with_capacity(query.group_by.len() * 2);
    for dimension in &query.group_by {
        labels.push(snake_case(dimension));
        if let Some(named) = names::dimension(dimension) {
            labels.push(named.label.to_string());
        }
    }
    labels
}

/// The part of a metric's series names between the source's prefix and the stat suffix,
/// with the metric's one-letter family: the one naming rule of every source. The base
/// name ([`split_metric`]) without the domain's words at its start, each in the singular
/// or the plural (`nFlowOutcome` of flows -> `outcome`, `nSurveysSent` of surveys ->
/// `sent`), whole words only; when nothing is left, `count` for a count and `duration`
/// for a timer (`nFlow` -> `count`, `tFlow` -> `duration`, `nConversations` -> `count`).
pub fn series_base(source: &Source, metric: &str) -> (char, String) {
    let (family, base) = split_metric(metric);
    let words: Vec<&str> = base.split('_').collect();
    let domain: Vec<&str> = source.domain.split('_').collect();
    let starts_with_domain = words.len() >= domain.len()
        && words.iter().zip(&domain).all(|(word, domain_word)| {
            word == domain_word || word.strip_suffix('s') == Some(domain_word)
        });
    let rest = if starts_with_domain {
        words[domain.len()..].join("_")
    } else {
        base
    };
    let rest = match (rest.is_empty(), family) {
        (false, _) => rest,
        (true, 't') => "duration".to_string(),
        (true, 'o') => "value".to_string(),
        (true, _) => "count".to_string(),
    };
    (family, rest)
}

/// The family of a metric: its one-letter family and its base name (`nOverSla` ->
/// (`'n'`, `over_sla`)).
pub fn split_metric(metric: &str) -> (char, String) {
    let family = metric.chars().next().unwrap_or('?');
    let snake = snake_case(metric);
    let base = snake
        .split_once('_')
        .map_or(snake.as_str(), |(_, rest)| rest)
        .to_string();
    (family, base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Granularity;
    use std::time::Duration;

    fn query(group_by: &[&str], metrics: &[&str]) -> QueryConfig {
        QueryConfig {
            name: "queues".into(),
            source: crate::genesys::sources::CONVERSATIONS,
            granularity: Granularity::Minutes(30),
            time_zone: chrono_tz::UTC,
            settle_delay: Duration::from_secs(90),
            refresh: None,
            group_by: group_by.iter().map(|s| s.to_string()).collect(),
            metrics: metrics.iter().map(|s| s.to_string()).collect(),
            filter: None,
            period: Default::default(),
            max_predicates_per_request: crate::config::filter::DEFAULT_MAX_PREDICATES,
            allow_unlisted: Vec::new(),
        }
    }

    fn interval(start: &str) -> Interval {
        let start: DateTime<Utc> = start.parse().unwrap();
        Interval {
            start,
            end: start + TimeDelta::minutes(30),
        }
    }

    fn response(json: serde_json::Value) -> AggregateResponse {
        serde_json::from_value(json).unwrap()
    }

    /// The value of the sample of `family` whose labels include all of `labels`.
    fn value(series: &QuerySeries, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = series.families.iter().find(|f| *f.name == *family)?;
        let matching: Vec<f64> = family
            .samples
            .iter()
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.pairs().any(|(lk, lv)| lk == *k && lv == *v))
            })
            .map(|s| s.value)
            .collect();
        assert!(
            matching.len() <= 1,
            "{family:?} has several samples for {labels:?}"
        );
        matching.first().copied()
    }

    const IV: &str = "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z";

    fn names() -> Names {
        Names::from_tables([(
            "queueId",
            HashMap::from([("q1".to_string(), "Billing".to_string())]),
        )])
    }

    #[test]
    fn counts_timers_and_observations_get_their_names_units_and_labels() {
        let q = query(
            &["queueId", "mediaType"],
            &["nOffered", "tHandle", "oServiceLevel", "nOverSla"],
        );
        let r = response(
            serde_json::json!({"results": [{"group": {"queueId": "q1", "mediaType": "voice"},
            "data": [{"interval": IV, "metrics": [
                {"metric": "nOffered", "stats": {"count": 42}},
                {"metric": "tHandle", "stats": {"max": 1203344, "min": 30211, "count": 37, "sum": 11874102}},
                {"metric": "oServiceLevel", "stats": {"ratio": 0.81, "numerator": 30, "denominator": 37, "target": 0.8}}]}]}]}),
        );
        let mapped = map_response(
            &q,
            &interval("2026-11-25T12:00:00Z"),
            &r,
            &names(),
            &mut GroupMemory::default(),
        );
        let s = &mapped.series;
        let l = [
            ("queue_id", "q1"),
            ("queue_name", "Billing"),
            ("media_type", "voice"),
            ("query", "queues"),
            ("interval", "PT30M"),
        ];
        assert_eq!(value(s, "genesys_conversation_offered", &l), Some(42.0));
        assert_eq!(
            value(s, "genesys_conversation_handle_seconds_sum", &l),
            Some(11874.102)
        );
        assert_eq!(
            value(s, "genesys_conversation_handle_seconds_count", &l),
            Some(37.0)
        );
        assert_eq!(
            value(s, "genesys_conversation_handle_seconds_max", &l),
            Some(1203.344)
        );
        assert_eq!(
            value(s, "genesys_conversation_handle_seconds_min", &l),
            Some(30.211)
        );
        assert_eq!(
            value(s, "genesys_conversation_service_level_ratio", &l),
            Some(0.81)
        );
        assert_eq!(
            value(s, "genesys_conversation_service_level_target", &l),
            Some(0.8)
        );
        assert_eq!(
            value(s, "genesys_conversation_service_level_denominator", &l),
            Some(37.0)
        );
        // Requested but absent: zero.
        assert_eq!(value(s, "genesys_conversation_over_sla", &l), Some(0.0));
        assert_eq!(mapped.warnings, 0);
        // Label order: query, interval, dimensions with queue_name after queue_id.
        let family = s
            .families
            .iter()
            .find(|f| *f.name == *"genesys_conversation_offered")
            .unwrap();
        let names: Vec<&str> = family.samples[0].labels.pairs().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            ["query", "interval", "queue_id", "queue_name", "media_type"]
        );
    }

    #[test]
    fn every_named_id_gets_its_name_label_right_after_it() {
        let q = query(&["userId", "mediaType", "wrapUpCode"], &["nConnected"]);
        let r = response(serde_json::json!({"results": [
            {"group": {"userId": "u1", "mediaType": "voice", "wrapUpCode": "w1"},
             "data": [{"interval": IV, "metrics": [{"metric": "nConnected", "stats": {"count": 4}}]}]},
            {"group": {"userId": "u-new", "mediaType": "voice"},
             "data": [{"interval": IV, "metrics": [{"metric": "nConnected", "stats": {"count": 1}}]}]}]}));
        let names = Names::from_tables([
            (
                "userId",
                HashMap::from([("u1".to_string(), "Zoë \"Z\" Ångström".to_string())]),
            ),
            (
                "wrapUpCode",
                HashMap::from([("w1".to_string(), "Resolved".to_string())]),
            ),
        ]);
        let mapped = map_response(
            &q,
            &interval("2026-11-25T12:00:00Z"),
            &r,
            &names,
            &mut GroupMemory::default(),
        );
        let s = &mapped.series;
        let known = [
            ("user_name", "Zoë \"Z\" Ångström"),
            ("wrap_up_code_name", "Resolved"),
        ];
        assert_eq!(
            value(s, "genesys_conversation_connected", &known),
            Some(4.0)
        );
        // An id without a name keeps its series, with empty names.
        let unknown = [
            ("user_id", "u-new"),
            ("user_name", ""),
            ("wrap_up_code", ""),
            ("wrap_up_code_name", ""),
        ];
        assert_eq!(
            value(s, "genesys_conversation_connected", &unknown),
            Some(1.0)
        );
        let family = &s.families[0];
        let labels: Vec<&str> = family.samples[0].labels.pairs().map(|(k, _)| k).collect();
        assert_eq!(
            labels,
            [
                "query",
                "interval",
                "user_id",
                "user_name",
                "media_type",
                "wrap_up_code",
                "wrap_up_code_name"
            ]
        );
    }

    #[test]
    fn interval_bounds_are_exported() {
        let q = query(&[], &["nOffered"]);
        let iv = interval("2026-11-25T12:00:00Z");
        let mapped = map_response(
            &q,
            &iv,
            &AggregateResponse::default(),
            &names(),
            &mut GroupMemory::default(),
        );
        let l = [("query", "queues"), ("interval", "PT30M")];
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_interval_start_timestamp_seconds",
                &l
            ),
            Some(iv.start.timestamp() as f64)
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_interval_end_timestamp_seconds",
                &l
            ),
            Some(iv.end.timestamp() as f64)
        );
        // No data at all: no conversation series, only the bounds.
        assert_eq!(mapped.series.families.len(), 2);
    }

    #[test]
    fn absent_timers_read_zero_and_groups_may_lack_keys() {
        let q = query(
            &["queueId", "userId"],
            &["nOffered", "tAbandon", "oServiceLevel"],
        );
        let r = response(serde_json::json!({"results": [{"group": {"queueId": "q9"},
            "data": [{"interval": IV, "metrics": [{"metric": "nOffered", "stats": {"count": 3}}]}]}]}));
        let mapped = map_response(
            &q,
            &interval("2026-11-25T12:00:00Z"),
            &r,
            &names(),
            &mut GroupMemory::default(),
        );
        let l = [("queue_id", "q9"), ("user_id", ""), ("queue_name", "")];
        assert_eq!(
            value(&mapped.series, "genesys_conversation_offered", &l),
            Some(3.0)
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_abandon_seconds_count",
                &l
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_abandon_seconds_sum",
                &l
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_abandon_seconds_max",
                &l
            ),
            None
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_service_level_ratio",
                &l
            ),
            None
        );
    }

    /// A group last seen in the interval that ended at 12:30 reads zero while the
    /// interval being mapped ends less than 24 h later, and is gone once it ends more
    /// than 24 h later: pinned a minute either side.
    #[test]
    fn a_group_that_goes_quiet_reads_zero_for_a_day() {
        let q = query(&["queueId"], &["nOffered", "tHandle"]);
        let busy = response(serde_json::json!({"results": [{"group": {"queueId": "q1"},
            "data": [{"interval": IV, "metrics": [{"metric": "nOffered", "stats": {"count": 5}}]}]}]}));
        let mut memory = GroupMemory::default();
        map_response(
            &q,
            &interval("2026-11-25T12:00:00Z"),
            &busy,
            &names(),
            &mut memory,
        );

        let quiet = AggregateResponse::default();
        let l = [("queue_id", "q1"), ("queue_name", "Billing")];
        // Ends at 12:29 the next day: 23 h 59 min after the group was last seen.
        let a_minute_short = map_response(
            &q,
            &interval("2026-11-26T11:59:00Z"),
            &quiet,
            &names(),
            &mut memory,
        );
        assert_eq!(
            value(&a_minute_short.series, "genesys_conversation_offered", &l),
            Some(0.0)
        );
        assert_eq!(
            value(
                &a_minute_short.series,
                "genesys_conversation_handle_seconds_count",
                &l
            ),
            Some(0.0)
        );

        // Ends at 12:31 the next day: 24 h 1 min after, and it is gone.
        let a_minute_over = map_response(
            &q,
            &interval("2026-11-26T12:01:00Z"),
            &quiet,
            &names(),
            &mut memory,
        );
        assert_eq!(
            value(&a_minute_over.series, "genesys_conversation_offered", &l),
            None
        );
        assert_eq!(
            value(
                &a_minute_over.series,
                "genesys_conversation_handle_seconds_count",
                &l
            ),
            None
        );
    }

    #[test]
    fn odd_parts_are_skipped_and_counted() {
        let q = query(&["queueId"], &["nOffered", "oServiceLevel"]);
        let r = response(serde_json::json!({"results": [{"group": {"queueId": "q1"},
            "data": [
                {"interval": "2026-11-25T11:30:00.000Z/2026-11-25T12:00:00.000Z", "metrics": [{"metric": "nOffered", "stats": {"count": 100}}]},
                {"interval": "garbage", "metrics": []},
                {"interval": IV, "metrics": [
                    {"metric": "nOffered", "stats": {"count": "many"}},
                    {"metric": "oServiceLevel", "stats": {"ratio": 0.5, "weird stat!": 1}}]}]}]}));
        let mapped = map_response(
            &q,
            &interval("2026-11-25T12:00:00Z"),
            &r,
            &names(),
            &mut GroupMemory::default(),
        );
        // Other interval, garbage interval, non-numeric count (skipped, and then no count stat), odd stat name.
        assert_eq!(mapped.warnings, 5);
        let l = [("queue_id", "q1")];
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_service_level_ratio",
                &l
            ),
            Some(0.5)
        );
        // The bucket of another interval was not taken for this one.
        assert_eq!(
            value(&mapped.series, "genesys_conversation_offered", &l),
            None
        );
    }

    #[test]
    fn qualifiers_become_a_label() {
        let q = query(&["queueId"], &["oServiceTarget"]);
        let r = response(serde_json::json!({"results": [{"group": {"queueId": "q1"},
            "data": [{"interval": IV, "metrics": [
                {"metric": "oServiceTarget", "qualifier": "voice", "stats": {"target": 0.8}},
                {"metric": "oServiceTarget", "qualifier": "chat", "stats": {"target": 0.9}}]}]}]}));
        let mapped = map_response(
            &q,
            &interval("2026-11-25T12:00:00Z"),
            &r,
            &names(),
            &mut GroupMemory::default(),
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_service_target_target",
                &[("qualifier", "chat")]
            ),
            Some(0.9)
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_conversation_service_target_target",
                &[("qualifier", "voice")]
            ),
            Some(0.8)
        );
    }

    /// The one naming rule, with the examples of every source the docs give.
    #[test]
    fn every_source_names_its_series_by_one_rule() {
        let named = |segment: &str, metric: &str| {
            let source = crate::genesys::sources::source(segment).unwrap();
            let (family, base) = series_base(source, metric);
            let suffix = match family {
                't' => "_seconds_sum",
                'o' => "_sum",
                _ => "",
            };
            format!("{}{base}{suffix}", source.prefix())
        };
        // source, metric, its series (the `sum` one of timers and o-metrics)
        let expected = "
            flows nFlow genesys_flow_count
            flows tFlow genesys_flow_duration_seconds_sum
            flows nFlowOutcome genesys_flow_outcome
            flows nFlowOutcomeFailed genesys_flow_outcome_failed
            flows tFlowExit genesys_flow_exit_seconds_sum
            flows tFlowDisconnect genesys_flow_disconnect_seconds_sum
            flowexecutions nFlowExecutions genesys_flow_execution_count
            evaluations nEvaluations genesys_evaluation_count
            evaluations oTotalScore genesys_evaluation_total_score_sum
            surveys nSurveysSent genesys_survey_sent
            surveys nSurveyNpsPromoters genesys_survey_nps_promoters
            surveys oSurveyTotalScore genesys_survey_total_score_sum
            bots nBotSessions genesys_bot_sessions
            bots tBotSession genesys_bot_session_seconds_sum
            actions tTotalExecution genesys_action_total_execution_seconds_sum
            users tAgentRoutingStatus genesys_user_agent_routing_status_seconds_sum
            users tSystemPresence genesys_user_system_presence_seconds_sum
            users tOrganizationPresence genesys_user_organization_presence_seconds_sum
            ratelimits oRateLimitRecorded genesys_rate_limit_recorded_sum
            transcripts tAgentSpeech genesys_transcript_agent_speech_seconds_sum
            conversations nConversations genesys_conversation_count
            conversations nOffered genesys_conversation_offered";
        for line in expected.lines().filter(|l| !l.trim().is_empty()) {
            let [segment, metric, name] = line.split_whitespace().collect::<Vec<_>>()[..] else {
                panic!("{line}");
            };
            assert_eq!(named(segment, metric), name, "{segment} {metric}");
        }
        // Every conversation metric but nConversations keeps the name it had.
        let conversations = crate::genesys::sources::CONVERSATIONS;
        for metric in conversations.metrics {
            if *metric != "nConversations" {
                assert_eq!(
                    series_base(conversations, metric),
                    split_metric(metric),
                    "{metric}"
                );
            }
        }
    }

    fn users_query(metrics: &[&str]) -> QueryConfig {
        QueryConfig {
            source: crate::genesys::sources::source("users").unwrap(),
            ..query(&["userId"], metrics)
        }
    }

    /// Users' qualifiers become named labels (the organization presence with its name
    /// from the names directory), the known routing statuses absent read 0, and users'
    /// timers, which have only a sum, are zero-filled as sums alone.
    #[test]
    fn named_qualifiers_get_their_labels_and_their_values_zero_filled() {
        let q = users_query(&[
            "tAgentRoutingStatus",
            "tOrganizationPresence",
            "tSystemPresence",
        ]);
        let r = response(serde_json::json!({"results": [{"group": {"userId": "u1"},
            "data": [{"interval": IV, "metrics": [
                {"metric": "tAgentRoutingStatus", "qualifier": "IDLE", "stats": {"sum": 600000}},
                {"metric": "tOrganizationPresence", "qualifier": "p-lunch", "stats": {"sum": 1200000}},
                {"metric": "tSystemPresence", "qualifier": "AVAILABLE", "stats": {"sum": 1800000}}]}]}]}));
        let table = |id: &str, name: &str| HashMap::from([(id.to_string(), name.to_string())]);
        let names = Names::from_tables([
            ("userId", table("u1", "Ann")),
            ("presenceId", table("p-lunch", "Lunch")),
        ]);
        let at = interval("2026-11-25T12:00:00Z");
        let mapped = map_response(&q, &at, &r, &names, &mut GroupMemory::default());
        let s = &mapped.series;
        let routing = "genesys_user_agent_routing_status_seconds_sum";
        let idle = [("routing_status", "IDLE"), ("user_name", "Ann")];
        assert_eq!(value(s, routing, &idle), Some(600.0));
        for status in crate::genesys::sources::ROUTING_STATUSES {
            if *status != "IDLE" {
                assert_eq!(
                    value(s, routing, &[("routing_status", status)]),
                    Some(0.0),
                    "{status}"
                );
            }
        }
        assert!(
            !s.families
                .iter()
                .any(|f| f.name.ends_with("_seconds_count"))
        );
        let presence = "genesys_user_organization_presence_seconds_sum";
        let lunch = [("presence_id", "p-lunch"), ("presence_name", "Lunch")];
        assert_eq!(value(s, presence, &lunch), Some(1200.0));
        let family = s.families.iter().find(|f| *f.name == *presence).unwrap();
        assert_eq!(family.samples.len(), 1, "no zero-fill of presence ids");
        let labels: Vec<&str> = family.samples[0].labels.pairs().map(|(k, _)| k).collect();
        let expected = "query interval user_id user_name presence_id presence_name";
        assert_eq!(labels.join(" "), expected);
        let system = "genesys_user_system_presence_seconds_sum";
        assert_eq!(
            value(s, system, &[("system_presence", "AVAILABLE")]),
            Some(1800.0)
        );
        assert_eq!(value(s, system, &[("system_presence", "MEAL")]), Some(0.0));
        assert!(!s.families.iter().any(|f| {
            f.samples
                .iter()
                .any(|x| x.labels.pairs().any(|(k, _)| k == "qualifier"))
        }));
        // A flows query's bounds take the flows prefix, and say so in their help.
        let flows = QueryConfig {
            source: crate::genesys::sources::source("flows").unwrap(),
            ..query(&[], &["nFlow"])
        };
        let none = AggregateResponse::default();
        let bounds = map_response(&flows, &at, &none, &names, &mut GroupMemory::default());
        let start = &bounds.series.families[1];
        assert_eq!(
            &*start.name,
            "genesys_flow_interval_start_timestamp_seconds"
        );
        assert!(start.help.contains("genesys_flow_*"), "{}", start.help);
    }

    #[test]
    fn metric_names_split_into_family_and_snake_case_base() {
        assert_eq!(split_metric("nOffered"), ('n', "offered".to_string()));
        assert_eq!(split_metric("nOverSla"), ('n', "over_sla".to_string()));
        assert_eq!(
            split_metric("tAgentResponseTime"),
            ('t', "agent_response_time".to_string())
        );
        assert_eq!(
            split_metric("oServiceLevel"),
            ('o', "service_level".to_string())
        );
    }

    /// Every sample of `series`, as (family, rendered labels, value), in order.
    fn samples(series: &QuerySeries) -> Vec<(String, String, f64)> {
        series
            .families
            .iter()
            .flat_map(|f| {
                f.samples
                    .iter()
                    .map(|s| (f.name.to_string(), s.labels.rendered().to_string(), s.value))
            })
            .collect()
    }

    fn group(queue: &str, media: &str, metrics: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"group": {"queueId": queue, "mediaType": media},
            "data": [{"interval": IV, "metrics": metrics}]})
    }

    #[test]
    fn results_fed_one_by_one_in_any_order_map_as_the_whole_answer() {
        let q = query(
            &["queueId", "mediaType"],
            &["nOffered", "tHandle", "oServiceLevel"],
        );
        let at = interval("2026-11-25T12:00:00Z");
        let offered = |n: u32| serde_json::json!([{"metric": "nOffered", "stats": {"count": n}}]);
        let handle = serde_json::json!([{"metric": "tHandle", "stats": {"count": 2, "sum": 4000}},
            {"metric": "nOffered", "stats": {"count": 9}}]);
        let results = [
            group("q1", "voice", offered(3)),
            group("q2", "chat", offered(1)),
            group("q1", "chat", handle.clone()),
            group("q3", "voice", offered(2)),
        ];
        let whole = response(serde_json::json!({"results": results}));
        let mut memory = GroupMemory::default();
        let expected = map_response(&q, &at, &whole, &names(), &mut memory);
        // The same groups in another order, q1/chat in two results: its second nOffered
        // is a repeat, as in the whole answer.
        let mut mapping = GroupMapping::new(&q, at, &names(), 0);
        for result in [
            group("q3", "voice", offered(2)),
            group(
                "q1",
                "chat",
                serde_json::json!([{"metric": "tHandle", "stats": {"count": 2, "sum": 4000}}]),
            ),
            group("q2", "chat", offered(1)),
            group("q1", "voice", offered(3)),
            group("q1", "chat", offered(9)),
        ] {
            mapping.add(&serde_json::from_value(result).unwrap());
        }
        let streamed = mapping.finish(&mut GroupMemory::default());
        assert_eq!(samples(&streamed.series), samples(&expected.series));
        assert_eq!(streamed.warnings, expected.warnings);
        // Groups sorted by their values, each zero-filled for what it lacks.
        assert_eq!(
            value(
                &streamed.series,
                "genesys_conversation_offered",
                &[("queue_id", "q1"), ("media_type", "chat")]
            ),
            Some(9.0)
        );
        assert_eq!(
            value(
                &streamed.series,
                "genesys_conversation_handle_seconds_count",
                &[("queue_id", "q3")]
            ),
            Some(0.0)
        );
    }

    #[test]
    fn a_rolled_back_attempt_leaves_no_trace() {
        let q = query(&["queueId", "mediaType"], &["nOffered", "tHandle"]);
        let at = interval("2026-11-25T12:00:00Z");
        let first = group(
            "q1",
            "voice",
            serde_json::json!([{"metric": "nOffered", "stats": {"count": 3}}]),
        );
        let mut alone = GroupMapping::new(&q, at, &names(), 0);
        alone.add(&serde_json::from_value(first.clone()).unwrap());
        let expected = alone.finish(&mut GroupMemory::default());

        let mut mapping = GroupMapping::new(&q, at, &names(), 0);
        mapping.add(&serde_json::from_value(first).unwrap());
        mapping.checkpoint();
        for broken in [
            group(
                "q2",
                "chat",
                serde_json::json!([{"metric": "nOffered", "stats": {"count": 1}}]),
            ),
            // The earlier group gets an entry, and a repeat (a warning) too.
            group(
                "q1",
                "voice",
                serde_json::json!([{"metric": "tHandle", "stats": {"count": 1, "sum": 10}},
                {"metric": "nOffered", "stats": {"count": 5}}]),
            ),
        ] {
            mapping.add(&serde_json::from_value(broken).unwrap());
        }
        mapping.rollback();
        let mut memory = GroupMemory::default();
        let mapped = mapping.finish(&mut memory);
        assert_eq!(samples(&mapped.series), samples(&expected.series));
        assert_eq!(mapped.warnings, 0);
        assert_eq!(memory.groups(), 1);
    }
}
