//! The answers of `POST /api/v2/analytics/{source}/aggregates/query` for every source of
//! [`crate::genesys::sources::SOURCES`], from one synthetic world.
//!
//! Conversations are [`super::aggregate`]'s. The other sources feed measurements (or whole
//! stats) into one [`Tally`], which buckets them, applies the filter by dimension name,
//! groups them by the query's `groupBy`, applies `metric` predicates and writes the answer
//! in Genesys' shape. Only where values must agree with something else is there a rule of
//! its own: [`users`] (status times that fill each bucket and follow the conversations each
//! user handled) and [`flows`] (inbound calls pass a flow before the queue; flow executions
//! are flow entries). Every other source comes from the catalogue-driven [`generic`]
//! generator.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use serde_json::{Map, Value, json};

use super::aggregate::{self, AggregateQuery, interval_text};
use crate::genesys::sources::CONVERSATIONS;
use crate::world::World;
use crate::world::agents;

mod flows;
mod generic;
mod users;

pub(crate) use flows::{FLOW_NAMES, OUTCOME_NAMES, flow_ids, outcome_ids};

/// The answer to a validated query of any source, as the JSON text it is sent as;
/// measurements after `now_ms` have not happened yet. Conversations' results are written
/// one by one as they are computed ([`results_text`]): a week of 1,000 queues held as
/// parsed values was gigabytes, and allocating them most of the CPU the answer cost.
pub(crate) fn answer_text(world: &World, query: &AggregateQuery, now_ms: i64) -> String {
    if query.source.segment != CONVERSATIONS.segment {
        return tallied(world, query, now_ms).to_string();
    }
    let (mut text, written, _) =
        results_text(world, query, now_ms, Position::default(), usize::MAX);
    if written == 0 {
        return "{}".into();
    }
    text.push('}');
    text
}

/// The answer's results from `from` on, at most `limit` of them, written as JSON text
/// one by one as they are computed: `{"results":[...]` (the object left open for what
/// follows), how many were written, and where the next result is when there is one more.
pub(crate) fn results_text(
    world: &World,
    query: &AggregateQuery,
    now_ms: i64,
    from: Position,
    limit: usize,
) -> (String, usize, Option<Position>) {
    let mut text = String::from("{\"results\":[");
    let mut written = 0;
    let mut next = None;
    for_each_result(world, query, now_ms, from, |at, result| {
        if written == limit {
            next = Some(at);
            return ControlFlow::Break(());
        }
        if written > 0 {
            text.push(',');
        }
        text.push_str(&result.to_string());
        written += 1;
        ControlFlow::Continue(())
    });
    text.push(']');
    (text, written, next)
}

/// The answer of a source other than conversations, whole (a few entities each).
fn tallied(world: &World, query: &AggregateQuery, now_ms: i64) -> Value {
    let mut tally = Tally::new(query, now_ms);
    let mut answer = Map::new();
    match query.source.segment {
        "users" => {
            users::measure(world, &mut tally);
            answer.insert(
                "systemToOrganizationMappings".into(),
                agents::system_to_organization_mappings(world),
            );
        }
        "flows" | "flowexecutions" => flows::measure(world, &mut tally),
        _ => generic::measure(world, &mut tally),
    }
    if let Some(results) = tally.results() {
        answer.insert("results".into(), results);
    }
    Value::Object(answer)
}

/// Where a page of a job's results starts in its answer: the index of its first result
/// and, for conversations, that result's group key, from which the answer's computation
/// resumes ([`aggregate::for_each_result`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) index: usize,
    key: Option<aggregate::GroupKey>,
}

/// The results of the answer to `query`, each with its position, from `from` on,
/// until `take` breaks: what a job's page is cut from without computing the whole
/// answer. Conversations (a month of a large org is gigabytes) are computed from `from`
/// on, a slice of the org at a time; the other sources' answers (a few entities each) are
/// computed whole and skipped to `from`.
pub(crate) fn for_each_result(
    world: &World,
    query: &AggregateQuery,
    now_ms: i64,
    from: Position,
    mut take: impl FnMut(Position, Value) -> ControlFlow<()>,
) {
    let mut index = from.index;
    if query.source.segment == CONVERSATIONS.segment {
        aggregate::for_each_result(world, query, now_ms, from.key.as_ref(), |key, result| {
            let at = Position {
                index,
                key: Some(key),
            };
            index += 1;
            take(at, result)
        });
        return;
    }
    let Value::Object(mut answer) = tallied(world, query, now_ms) else {
        return;
    };
    let Some(Value::Array(results)) = answer.remove("results") else {
        return;
    };
    for result in results.into_iter().skip(from.index) {
        let at = Position { index, key: None };
        index += 1;
        if take(at, result).is_break() {
            return;
        }
    }
}

/// The stats of one metric (and qualifier) in one group and bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Stat {
    /// `n…`: `{count}`.
    Count(u64),
    /// `t…`: milliseconds, `{max, min, count, sum}`.
    Timer {
        count: u64,
        sum: i64,
        max: i64,
        min: i64,
    },
    /// `o…` of these sources: a `StatisticalSummary`, `{count, sum, min, max}`.
    Summary {
        count: u64,
        sum: f64,
        min: f64,
        max: f64,
    },
}

impl Stat {
    /// One timed thing of `ms` milliseconds.
    pub(super) fn timer(ms: i64) -> Stat {
        Stat::Timer {
            count: 1,
            sum: ms,
            max: ms,
            min: ms,
        }
    }

    fn merge(&mut self, other: Stat) {
        match (self, other) {
            (Stat::Count(a), Stat::Count(b)) => *a += b,
            (
                Stat::Timer {
                    count,
                    sum,
                    max,
                    min,
                },
                Stat::Timer {
                    count: c,
                    sum: s,
                    max: hi,
                    min: lo,
                },
            ) => {
                *count += c;
                *sum += s;
                *max = (*max).max(hi);
                *min = (*min).min(lo);
            }
            (
                Stat::Summary {
                    count,
                    sum,
                    min,
                    max,
                },
                Stat::Summary {
                    count: c,
                    sum: s,
                    min: lo,
                    max: hi,
                },
            ) => {
                *count += c;
                *sum += s;
                *min = min.min(lo);
                *max = max.max(hi);
            }
            // A metric is of one family: the generators never mix them.
            _ => {}
        }
    }

    /// The one number a `metric` predicate's range is tested against.
    fn value(self) -> f64 {
        match self {
            Stat::Count(n) => n as f64,
            Stat::Timer { sum, .. } => sum as f64,
            Stat::Summary { sum, .. } => sum,
        }
    }

    fn to_json(self, sum_only: bool) -> Value {
        match self {
            Stat::Count(count) => json!({ "count": count }),
            Stat::Timer { sum, .. } if sum_only => json!({ "sum": sum }),
            Stat::Timer {
                count,
                sum,
                max,
                min,
            } => json!({ "max": max, "min": min, "count": count, "sum": sum }),
            Stat::Summary {
                count,
                sum,
                min,
                max,
            } => json!({ "count": count, "sum": sum, "min": min, "max": max }),
        }
    }
}

/// Group values in `groupBy` order (`None`: the measurement has no value there).
type GroupKey = Vec<Option<String>>;
/// A group's stats in one bucket, by (metric slot, qualifier).
type Cell = BTreeMap<(usize, Option<String>), Stat>;

/// The measurements of one query, bucketed, filtered and grouped as Genesys does.
pub(super) struct Tally<'q> {
    query: &'q AggregateQuery,
    now_ms: i64,
    /// The requested metrics, then those only `metric` predicates test.
    tracked: Vec<&'static str>,
    /// Timers answer with `{sum}` alone (users' status times).
    sum_only: bool,
    cells: BTreeMap<(GroupKey, usize), Cell>,
}

impl<'q> Tally<'q> {
    fn new(query: &'q AggregateQuery, now_ms: i64) -> Tally<'q> {
        let mut tracked = query.metric_names.clone();
        for condition in &query.conditions {
            if !tracked.contains(&condition.name) {
                tracked.push(condition.name);
            }
        }
        Tally {
            query,
            now_ms,
            tracked,
            sum_only: false,
            cells: BTreeMap::new(),
        }
    }

    pub(super) fn query(&self) -> &'q AggregateQuery {
        self.query
    }

    pub(super) fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// The query's span, `[first bucket start, last bucket end)`.
    pub(super) fn span(&self) -> (i64, i64) {
        let bounds = &self.query.bounds;
        (
            bounds.first().copied().unwrap_or(0),
            bounds.last().copied().unwrap_or(0),
        )
    }

    /// Timers answer with their `sum` alone, as users' status times do.
    pub(super) fn timers_as_sums(&mut self) {
        self.sum_only = true;
    }

    /// Whether measurements of `metric` count towards the answer.
    pub(super) fn wants(&self, metric: &str) -> bool {
        self.tracked.contains(&metric)
    }

    /// Whether the filter keeps a measurement with these dimension values.
    pub(super) fn keeps<'v>(&self, value_of: &dyn Fn(&str) -> Option<&'v str>) -> bool {
        self.query
            .filter
            .as_ref()
            .is_none_or(|filter| filter.eval_named(value_of))
    }

    /// One measurement at `at_ms`: counted in its bucket when it has happened by now.
    pub(super) fn record<'v>(
        &mut self,
        at_ms: i64,
        metric: &str,
        qualifier: Option<&str>,
        value_of: &dyn Fn(&str) -> Option<&'v str>,
        stat: Stat,
    ) {
        let (start, end) = self.span();
        if at_ms < start || at_ms >= end || at_ms > self.now_ms {
            return;
        }
        let bucket = self.query.bounds.partition_point(|&b| b <= at_ms) - 1;
        self.add(bucket, metric, qualifier, value_of, stat);
    }

    /// A whole bucket's stats of one metric for the values `value_of` gives.
    pub(super) fn add<'v>(
        &mut self,
        bucket: usize,
        metric: &str,
        qualifier: Option<&str>,
        value_of: &dyn Fn(&str) -> Option<&'v str>,
        stat: Stat,
    ) {
        let Some(slot) = self.tracked.iter().position(|m| *m == metric) else {
            return;
        };
        if !self.keeps(value_of) {
            return;
        }
        let key: GroupKey = self
            .query
            .group_names
            .iter()
            .map(|d| value_of(d).map(str::to_string))
            .collect();
        self.cells
            .entry((key, bucket))
            .or_default()
            .entry((slot, qualifier.map(str::to_string)))
            .and_modify(|s| s.merge(stat))
            .or_insert(stat);
    }

    /// The answer's `results`, `None` when nothing was measured.
    fn results(self) -> Option<Value> {
        let requested = self.query.metric_names.len();
        let mut groups: BTreeMap<GroupKey, Vec<Value>> = BTreeMap::new();
        for ((key, bucket), cell) in self.cells {
            let value_of = |metric: Option<_>| {
                let slot = self.tracked.iter().position(|m| Some(*m) == metric)?;
                let stats = cell.iter().filter(|((s, _), _)| *s == slot);
                stats.map(|(_, stat)| stat.value()).reduce(|a, b| a + b)
            };
            let held = self
                .query
                .conditions
                .iter()
                .all(|c| c.holds(value_of(Some(c.name))));
            let metrics: Vec<Value> = cell
                .iter()
                .filter(|((slot, _), _)| held && *slot < requested)
                .map(|((slot, qualifier), stat)| {
                    let mut metric = json!({ "metric": self.tracked[*slot] });
                    if let Some(qualifier) = qualifier {
                        metric["qualifier"] = json!(qualifier);
                    }
                    metric["stats"] = stat.to_json(self.sum_only);
                    metric
                })
                .collect();
            if !metrics.is_empty() {
                groups.entry(key).or_default().push(json!({
                    "interval": interval_text(&self.query.bounds, bucket),
                    "metrics": metrics,
                }));
            }
        }
        if groups.is_empty() {
            return None;
        }
        let results = groups
            .into_iter()
            .map(|(key, data)| {
                let group: Map<String, Value> = self
                    .query
                    .group_names
                    .iter()
                    .zip(key)
                    .filter_map(|(d, v)| Some((d.to_string(), Value::String(v?))))
                    .collect();
                json!({ "group": group, "data": data })
            })
            .collect();
        Some(Value::Array(results))
    }
}
