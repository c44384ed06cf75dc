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
/// has no value, or [`NOT_GROUPED`] when the query does not group by it.
type GroupKey = [u32; DIM_COUNT];
const ABSENT: u32 = u32::MAX;
const NOT_GROUPED: u32 = u32::MAX - 1;

/// Runs a validated query. Measurements after `now_ms` have not happened yet and are
/// left out, so the present interval fills in as time passes, as it does in Genesys.
pub(crate) fn run(world: &World, query: &AggregateQuery, now_ms: i64) -> Value {
    let modelled: Vec<Metric> = query.metrics.iter().flatten().copied().collect();
    // Slots: the requested metrics first, then those only `metric` predicates test.
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
    let (Some(&range_start), Some(&range_end)) = (query.bounds.first(), query.bounds.last()) else {
        return json!({});
    };
    if modelled.is_empty() {
        return json!({});
    }
    let mut grouped = [false; DIM_COUNT];
    for d in query.group_by.iter().flatten() {
        grouped[d.index()] = true;
    }

    let mut acc: HashMap<(GroupKey, usize), Vec<Option<Stat>>> = HashMap::new();
    let cell_wanted = |queue: u32, media: Media| {
        let Some(filter) = &query.filter else {
            return true;
        };
        let mut known = [None; DIM_COUNT];
        known[Dim::QueueId.index()] = Some(Some(queue));
        known[Dim::MediaType.index()] = Some(Some(media as u32));
        filter.eval_partial(&known) != Some(false)
    };
    let arrivals_until = range_end.min(now_ms.saturating_add(1));
    world.for_each_conversation(
        range_start - MAX_SPAN_MS,
        arrivals_until,
        cell_wanted,
        |conversation| {
            conversation.for_each_event(|event| {
                let Some(slot) = slot_of[event.metric.index()] else {
                    return;
                };
                if event.at_ms < range_start || event.at_ms >= range_end || event.at_ms > now_ms {
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
                    if grouped[d] {
                        key[d] = values[d].unwrap_or(ABSENT);
                    }
                }
                let stats = acc
                    .entry((key, bucket))
                    .or_insert_with(|| vec![None; tracked.len()]);
                match &mut stats[slot] {
                    Some(stat) => stat.add(&event),
                    empty @ None => *empty = Some(Stat::first(&event)),
                }
            });
        },
    );

    let mut groups: BTreeMap<GroupKey, BTreeMap<usize, Vec<Option<Stat>>>> = BTreeMap::new();
    for ((key, bucket), mut stats) in acc {
        let value_of = |metric: Option<Metric>| {
            let slot = slot_of[metric?.index()]?;
            stats[slot].map(Stat::value)
        };
        if !query.conditions.iter().all(|c| c.holds(value_of(c.metric))) {
            continue;
        }
        stats.truncate(modelled.len());
        if stats.iter().all(Option::is_none) {
            continue;
        }
        groups.entry(key).or_default().insert(bucket, stats);
    }
    if groups.is_empty() {
        return json!({});
    }
    let results: Vec<Value> = groups
        .into_iter()
        .map(|(key, buckets)| {
            let mut group = Map::new();
            for d in query.group_by.iter().flatten() {
                let code = key[d.index()];
                if code != ABSENT && code != NOT_GROUPED {
                    group.insert(d.name().to_string(), json!(world.dim_label(*d, code)));
                }
            }
            let data: Vec<Value> = buckets
                .into_iter()
                .map(|(bucket, stats)| {
                    let metrics: Vec<Value> = modelled
                        .iter()
                        .zip(stats)
                        .filter_map(|(m, stat)| {
                            stat.map(|s| json!({ "metric": m.name(), "stats": s.to_json() }))
                        })
                        .collect();
                    json!({
                        "interval": interval_text(&query.bounds, bucket),
                        "metrics": metrics,
                    })
                })
                .collect();
            json!({ "group": group, "data": data })
        })
        .collect();
    json!({ "results": results })
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
