//! `POST /api/v2/analytics/{source}/aggregates/query`: validating the query of any
//! source ([`request`]), then, for conversations, bucketing and summarising synthetic
//! traffic into a `ConversationAggregateQueryResponse` (the other sources are answered by
//! [`super::sources`]).
//!
//! Validation is as strict as Genesys, no more and no less: names outside the source's
//! catalogue ([`crate::genesys::sources`]), a bad interval, granularity or time zone, a
//! filter nested deeper than two levels or carrying more predicates than the cap are a
//! 400 naming the field; unknown fields are ignored, and catalogue metrics and dimensions
//! the traffic model lacks simply have no data. `metric` predicates are applied to each
//! group's bucket after aggregation (here; parsed in [`request`]); `property` predicates are
//! accepted and, as the model has no conversation properties, never match.

use std::collections::{BTreeMap, HashMap};
use std::ops::{ControlFlow, Range};

use serde_json::{Map, Value, json};

use super::period;
use crate::world::catalog::{DIM_COUNT, Dim, METRIC_COUNT, Metric, MetricKind};
use crate::world::{Event, MAX_SPAN_MS, Media, SERVICE_LEVEL_TARGET, World};

mod request;

pub(crate) use request::{AggregateQuery, QueryError, QueryLimits, parse_query};

/// Accumulated stats of one metric in one group and bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Stat {
    Count(u64),
    Timer {
        max: i64,
        min: i64,
        count: u64,
        sum: i64,
    },
    ServiceLevel {
        met: u64,
        total: u64,
    },
}

impl Stat {
    fn first(event: &Event) -> Stat {
        match event.metric.kind() {
            MetricKind::Count => Stat::Count(1),
            MetricKind::Timer => Stat::Timer {
                max: event.value,
                min: event.value,
                count: 1,
                sum: event.value,
            },
            MetricKind::ServiceLevel => Stat::ServiceLevel {
                met: u64::from(event.value > 0),
                total: 1,
            },
        }
    }

    fn add(&mut self, event: &Event) {
        match self {
            Stat::Count(n) => *n += 1,
            Stat::Timer {
                max,
                min,
                count,
                sum,
            } => {
                *max = (*max).max(event.value);
                *min = (*min).min(event.value);
                *count += 1;
                *sum += event.value;
            }
            Stat::ServiceLevel { met, total } => {
                *met += u64::from(event.value > 0);
                *total += 1;
            }
        }
    }

    /// The one number a `metric` predicate's range is tested against.
    fn value(self) -> f64 {
        match self {
            Stat::Count(n) => n as f64,
            Stat::Timer { sum, .. } => sum as f64,
            Stat::ServiceLevel { met, total } => met as f64 / total as f64,
        }
    }

    fn to_json(self) -> Value {
        match self {
            Stat::Count(n) => json!({ "count": n }),
            Stat::Timer {
                max,
                min,
                count,
                sum,
            } => json!({ "max": max, "min": min, "count": count, "sum": sum }),
            Stat::ServiceLevel { met, total } => json!({
                "ratio": met as f64 / total as f64,
                "numerator": met,
                "denominator": total,
                "target": SERVICE_LEVEL_TARGET,
            }),
        }
    }
}

/// Group key: per modelled dimension, the value code, [`ABSENT`] when the measurement
/// has no value, or [`NOT_GROUPED`] when the query does not group by it. The answer lists
/// its groups in key order, so a key also says where in the answer a group stands.
pub(crate) type GroupKey = [u32; DIM_COUNT];
const ABSENT: u32 = u32::MAX;
const NOT_GROUPED: u32 = u32::MAX - 1;

/// Queues whose traffic is tallied together when the query groups by queue: small
/// enough that a slice's tallies stay a few megabytes over a month of half-hours, large
/// enough that walking the minutes once a slice costs nothing next to the traffic.
const QUEUES_PER_SLICE: u32 = 8;

/// Hands the answer's results (one a group) to `take` in the answer's order, from the
/// group with key `from` on (from the first when `None`), until `take` breaks.
/// Measurements after `now_ms` have not happened yet and are left out, so the present
/// interval fills in as time passes, as it does in Genesys.
///
/// The traffic is tallied a slice of the org at a time, slices in the order of the
/// groups' keys: [`QUEUES_PER_SLICE`] queues at a time when the query groups by queue
/// (the key's first dimension; a conversation has one queue, so no group spans two
/// slices), a media type at a time when it groups by media type and not by queue, the
/// whole org at once otherwise (groups then span every queue, and are few: the users,
/// wrap-up codes, directions... combined). Only one slice's tallies are held, and a
/// slice before `from` is not generated: that is what lets a job's pages of a month of a
/// large org be computed one at a time (`super::jobs`) instead of the whole answer.
pub(crate) fn for_each_result(
    world: &World,
    query: &AggregateQuery,
    now_ms: i64,
    from: Option<&GroupKey>,
    mut take: impl FnMut(GroupKey, Value) -> ControlFlow<()>,
) {
    let Some(plan) = Plan::new(query) else {
        return;
    };
    for slice in Slice::all(world, &plan.grouped, from) {
        for (key, buckets) in plan.tally(world, now_ms, &slice) {
            if from.is_some_and(|from| key < *from) {
                continue;
            }
            if take(key, plan.result(world, &key, buckets)).is_break() {
                return;
            }
        }
    }
}

/// The cells (queue, media type) whose conversations are tallied together.
enum Slice {
    Queues(Range<u32>),
    Media(u32),
    Org,
}

impl Slice {
    /// The slices of the answer from the group `from` on, in the order of its keys.
    fn all(world: &World, grouped: &[bool; DIM_COUNT], from: Option<&GroupKey>) -> Vec<Slice> {
        let first = |dim: Dim| from.map_or(0, |key| key[dim.index()]);
        if grouped[Dim::QueueId.index()] {
            let queues = u32::try_from(world.queue_ids().len()).unwrap_or(u32::MAX);
            (first(Dim::QueueId)..queues)
                .step_by(QUEUES_PER_SLICE as usize)
                .map(|start| Slice::Queues(start..queues.min(start + QUEUES_PER_SLICE)))
                .collect()
        } else if grouped[Dim::MediaType.index()] {
            (first(Dim::MediaType)..Media::ALL.len() as u32)
                .map(Slice::Media)
                .collect()
        } else {
            vec![Slice::Org]
        }
    }

    fn holds(&self, queue: u32, media: Media) -> bool {
        match self {
            Slice::Queues(queues) => queues.contains(&queue),
            Slice::Media(code) => media as u32 == *code,
            Slice::Org => true,
        }
    }
}

/// A group's buckets that have data, each with its stats by metric slot.
type Buckets = BTreeMap<usize, Vec<Option<Stat>>>;

/// What a query tallies: its metrics' slots, its grouping and its span.
struct Plan<'q> {
    query: &'q AggregateQuery,
    /// The requested metrics the model has, in request order.
    modelled: Vec<Metric>,
    /// Slots: the requested metrics first, then those only `metric` predicates test.
    tracked: usize,
    slot_of: [Option<usize>; METRIC_COUNT],
    grouped: [bool; DIM_COUNT],
    range_start: i64,
    range_end: i64,
}

impl<'q> Plan<'q> {
    /// `None` when the answer is empty whatever the traffic: no bucket or no modelled
    /// metric.
    fn new(query: &'q AggregateQuery) -> Option<Plan<'q>> {
        let modelled: Vec<Metric> = query.metrics.iter().flatten().copied().collect();
        let mut tracked = modelled.clone();
        for m in query.conditions.iter().filter_map(|c| c.metric) {
            if !tracked.contains(&m) {
                tracked.push(m);
            }
        }
        let mut slot_of = [None; METRIC_COUNT];
        for (slot, m) in tracked.iter().enumerate() {
            slot_of[m.index()] = Some(slot);
        }
        let (&range_start, &range_end) = (query.bounds.first()?, query.bounds.last()?);
        if modelled.is_empty() {
            return None;
        }
        let mut grouped = [false; DIM_COUNT];
        for d in query.group_by.iter().flatten() {
            grouped[d.index()] = true;
        }
        Some(Plan {
            query,
            modelled,
            tracked: tracked.len(),
            slot_of,
            grouped,
            range_start,
            range_end,
        })
    }

    /// The groups of the conversations of `slice`'s cells, in key order, each bucket's
    /// stats tallied, `metric` predicates applied.
    fn tally(&self, world: &World, now_ms: i64, slice: &Slice) -> BTreeMap<GroupKey, Buckets> {
        let query = self.query;
        let mut acc: HashMap<(GroupKey, usize), Vec<Option<Stat>>> = HashMap::new();
        let cell_wanted = |queue: u32, media: Media| {
            if !slice.holds(queue, media) {
                return false;
            }
            let Some(filter) = &query.filter else {
                return true;
            };
            let mut known = [None; DIM_COUNT];
            known[Dim::QueueId.index()] = Some(Some(queue));
            known[Dim::MediaType.index()] = Some(Some(media as u32));
            filter.eval_partial(&known) != Some(false)
        };
        let arrivals_until = self.range_end.min(now_ms.saturating_add(1));
        world.for_each_conversation(
            self.range_start - MAX_SPAN_MS,
            arrivals_until,
            cell_wanted,
            |conversation| {
                conversation.for_each_event(|event| {
                    let Some(slot) = self.slot_of[event.metric.index()] else {
                        return;
                    };
                    if event.at_ms < self.range_start
                        || event.at_ms >= self.range_end
                        || event.at_ms > now_ms
                    {
                        return;
                    }
                    let values = conversation.dim_values(event.purpose);
                    if let Some(filter) = &query.filter
                        && !filter.eval(&values)
                    {
                        return;
                    }
                    let bucket = query.bounds.partition_point(|&b| b <= event.at_ms) - 1;
                    let mut key = [NOT_GROUPED; DIM_COUNT];
                    for d in 0..DIM_COUNT {
                        if self.grouped[d] {
                            key[d] = values[d].unwrap_or(ABSENT);
                        }
                    }
                    let stats = acc
                        .entry((key, bucket))
                        .or_insert_with(|| vec![None; self.tracked]);
                    match &mut stats[slot] {
                        Some(stat) => stat.add(&event),
                        empty @ None => *empty = Some(Stat::first(&event)),
                    }
                });
            },
        );

        let mut groups: BTreeMap<GroupKey, Buckets> = BTreeMap::new();
        for ((key, bucket), mut stats) in acc {
            let value_of = |metric: Option<Metric>| {
                let slot = self.slot_of[metric?.index()]?;
                stats[slot].map(Stat::value)
            };
            if !query.conditions.iter().all(|c| c.holds(value_of(c.metric))) {
                continue;
            }
            stats.truncate(self.modelled.len());
            if stats.iter().all(Option::is_none) {
                continue;
            }
            groups.entry(key).or_default().insert(bucket, stats);
        }
        groups
    }

    /// One result of the answer: the group's values and its buckets' metrics.
    fn result(&self, world: &World, key: &GroupKey, buckets: Buckets) -> Value {
        let mut group = Map::new();
        for d in self.query.group_by.iter().flatten() {
            let code = key[d.index()];
            if code != ABSENT && code != NOT_GROUPED {
                group.insert(d.name().to_string(), json!(world.dim_label(*d, code)));
            }
        }
        let data: Vec<Value> = buckets
            .into_iter()
            .map(|(bucket, stats)| {
                let metrics: Vec<Value> = self
                    .modelled
                    .iter()
                    .zip(stats)
                    .filter_map(|(m, stat)| {
                        stat.map(|s| json!({ "metric": m.name(), "stats": s.to_json() }))
                    })
                    .collect();
                json!({
                    "interval": interval_text(&self.query.bounds, bucket),
                    "metrics": metrics,
                })
            })
            .collect();
        json!({ "group": group, "data": data })
    }
}

/// Bucket `bucket` of `bounds` as an answer's `interval`.
pub(crate) fn interval_text(bounds: &[i64], bucket: usize) -> String {
    format!(
        "{}/{}",
        period::format_ms(bounds[bucket]),
        period::format_ms(bounds[bucket + 1])
    )
}

#[cfg(test)]
mod tests;
