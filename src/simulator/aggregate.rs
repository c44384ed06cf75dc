//! `POST /api/v2/analytics/conversations/aggregates/query`: validating the
//! `ConversationAggregationQuery`, then bucketing and summarising synthetic traffic
//! into a `ConversationAggregateQueryResponse`.
//!
//! Validation is as strict as Genesys, no more and no less: names outside the shared
//! catalogue ([`crate::genesys::catalog`]), a bad interval, granularity or time zone, a
//! filter nested deeper than two levels or carrying more predicates than the cap are a
//! 400 naming the field; unknown fields are ignored, and catalogue metrics and dimensions
//! the traffic model lacks simply have no data. `metric` predicates are applied to each
//! group's bucket after aggregation (see [`MetricCondition`]); `property` predicates are
//! accepted and, as the model has no conversation properties, never match.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::catalog::{DIM_COUNT, Dim, DimValues, METRIC_COUNT, Metric, MetricKind};
use super::period::{self, BucketStep};
use super::traffic::{Event, MAX_SPAN_MS, Media, SERVICE_LEVEL_TARGET, World};
use crate::genesys::catalog;

/// Filters nest at most two levels: the filter, then its clauses, which hold only
/// predicates (the SDK's `ConversationAggregateQueryFilter` and `…Clause` models).
const MAX_FILTER_DEPTH: usize = 2;

/// The `propertyType` values of a `property` predicate, as the SDK enumerates them.
const PROPERTY_TYPES: [&str; 6] = ["bool", "integer", "real", "date", "string", "uuid"];

/// What a query is held to besides its names; set per simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct QueryLimits {
    /// Most predicates one filter may carry, all levels together; `None`: no cap.
    pub max_predicates: Option<usize>,
}

/// Why a query is refused: the field as Genesys names it in the error body's
/// `details[].fieldName` (`metrics[2]`, `filter.clauses[0].predicates[3].dimension`), and
/// the message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct QueryError {
    pub field: String,
    pub message: String,
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> QueryError {
    QueryError {
        field: field.into(),
        message: message.into(),
    }
}

/// A validated query, with names already resolved against the model.
#[derive(Debug)]
pub(crate) struct AggregateQuery {
    /// Bucket boundaries in UTC ms: bucket `i` is `[bounds[i], bounds[i + 1])`.
    bounds: Vec<i64>,
    /// `groupBy` in request order; `None` for catalogue dimensions the model lacks.
    group_by: Vec<Option<Dim>>,
    filter: Option<Clause>,
    /// The filter's `metric` predicates, which every group's bucket must satisfy.
    conditions: Vec<MetricCondition>,
    /// Requested metrics, deduplicated, in request order; `None` = not modelled.
    metrics: Vec<Option<Metric>>,
}

/// An `and` / `or` node of the filter.
#[derive(Debug)]
struct Clause {
    any: bool,
    predicates: Vec<Predicate>,
    /// In an `or` node, its `matches` predicates by dimension, as sets of values: a
    /// filter over thousands of queues (which the exporter splits over requests) then
    /// costs one lookup per measurement, not thousands of comparisons.
    alternatives: Vec<(Dim, HashSet<u32>)>,
    clauses: Vec<Clause>,
    /// The node held only `metric` predicates, which apply to groups, not measurements:
    /// every measurement passes it.
    only_metric_predicates: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Matches,
    Exists,
    NotExists,
}

/// A `dimension` predicate, or a `property` one (which has no dimension: the model has
/// no properties). `dim` is `None` for a catalogue dimension the model lacks (it never
/// has a value); `want` is `None` when the org has no such value.
#[derive(Debug)]
struct Predicate {
    dim: Option<Dim>,
    operator: Operator,
    want: Option<u32>,
}

/// A `metric` predicate, tested on each group's bucket after aggregation: the value of
/// a count is its `count`, of a timer its `sum` (ms), of `oServiceLevel` its `ratio`. A
/// bucket without data for the metric has no value. Wherever the predicate sits in the
/// filter, it is combined with the rest by `and`.
#[derive(Debug)]
struct MetricCondition {
    /// `None` for a catalogue metric the model lacks (it never has a value).
    metric: Option<Metric>,
    test: MetricTest,
}

#[derive(Debug)]
enum MetricTest {
    Exists,
    NotExists,
    Within(Range),
}

/// A `NumericRange`: each bound optional, at least one given.
#[derive(Debug, Default)]
struct Range {
    gt: Option<f64>,
    gte: Option<f64>,
    lt: Option<f64>,
    lte: Option<f64>,
}

impl Range {
    fn contains(&self, v: f64) -> bool {
        self.gt.is_none_or(|b| v > b)
            && self.gte.is_none_or(|b| v >= b)
            && self.lt.is_none_or(|b| v < b)
            && self.lte.is_none_or(|b| v <= b)
    }
}

impl MetricCondition {
    fn holds(&self, value: Option<f64>) -> bool {
        match &self.test {
            MetricTest::Exists => value.is_some(),
            MetricTest::NotExists => value.is_none(),
            MetricTest::Within(range) => value.is_some_and(|v| range.contains(v)),
        }
    }
}

impl Predicate {
    fn eval(&self, values: &DimValues) -> bool {
        let value = self.dim.and_then(|d| values[d.index()]);
        match self.operator {
            Operator::Matches => value.is_some() && value == self.want,
            Operator::Exists => value.is_some(),
            Operator::NotExists => value.is_none(),
        }
    }

    /// Like `eval` when only some dimensions are known (`known[d]` is `None` when
    /// dimension `d` is unknown); `None` when the answer depends on unknown ones.
    fn eval_partial(&self, known: &[Option<Option<u32>>; DIM_COUNT]) -> Option<bool> {
        let value = match self.dim {
            Some(d) => known[d.index()]?,
            None => None,
        };
        Some(match self.operator {
            Operator::Matches => value.is_some() && value == self.want,
            Operator::Exists => value.is_some(),
            Operator::NotExists => value.is_none(),
        })
    }
}

impl Clause {
    fn eval(&self, values: &DimValues) -> bool {
        if self.only_metric_predicates {
            return true;
        }
        let mut results = self
            .predicates
            .iter()
            .map(|p| p.eval(values))
            .chain(
                self.alternatives
                    .iter()
                    .map(|(d, set)| values[d.index()].is_some_and(|v| set.contains(&v))),
            )
            .chain(self.clauses.iter().map(|c| c.eval(values)));
        if self.any {
            results.any(|r| r)
        } else {
            results.all(|r| r)
        }
    }

    /// Three-valued evaluation with partial knowledge, used to skip whole
    /// queue × media cells a filter rules out before generating their traffic.
    fn eval_partial(&self, known: &[Option<Option<u32>>; DIM_COUNT]) -> Option<bool> {
        if self.only_metric_predicates {
            return Some(true);
        }
        let results = self
            .predicates
            .iter()
            .map(|p| p.eval_partial(known))
            .chain(self.alternatives.iter().map(|(d, set)| {
                known[d.index()].map(|value| value.is_some_and(|v| set.contains(&v)))
            }))
            .chain(self.clauses.iter().map(|c| c.eval_partial(known)));
        let (decisive, other) = if self.any {
            (true, false)
        } else {
            (false, true)
        };
        let mut unknown = false;
        for r in results {
            match r {
                Some(v) if v == decisive => return Some(decisive),
                Some(_) => {}
                None => unknown = true,
            }
        }
        if unknown { None } else { Some(other) }
    }
}

/// What parsing a filter gathers on the way down.
struct FilterParse<'a> {
    world: &'a World,
    conditions: Vec<MetricCondition>,
    predicates: usize,
}

/// Parses and validates a request body.
pub(crate) fn parse_query(
    body: &[u8],
    world: &World,
    limits: QueryLimits,
) -> Result<AggregateQuery, QueryError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| refuse("body", format!("malformed JSON request body: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(refuse(
            "body",
            "the request body must be a JSON object (ConversationAggregationQuery)",
        ));
    };
    let field = |name: &str| obj.get(name).filter(|v| !v.is_null());

    let interval = match field("interval") {
        None => return Err(refuse("interval", "interval is required")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return Err(refuse(
                "interval",
                "interval must be a string such as 'start/end'",
            ));
        }
    };
    let (start, end) = period::parse_interval(interval).map_err(|m| refuse("interval", m))?;

    let tz = match field("timeZone") {
        None => Tz::UTC,
        Some(Value::String(s)) => period::parse_time_zone(s).map_err(|m| refuse("timeZone", m))?,
        Some(_) => {
            return Err(refuse(
                "timeZone",
                "timeZone must be a string (an IANA time zone name)",
            ));
        }
    };

    let granularity: Option<(BucketStep, &str)> = match field("granularity") {
        None => None,
        Some(Value::String(s)) => Some((
            period::parse_granularity(s).map_err(|m| refuse("granularity", m))?,
            s.as_str(),
        )),
        Some(_) => {
            return Err(refuse(
                "granularity",
                "granularity must be an ISO-8601 duration string",
            ));
        }
    };
    let bounds = period::bucket_boundaries(start, end, granularity, tz)
        .map_err(|m| refuse("granularity", m))?;

    let group_by = match field("groupBy") {
        None => Vec::new(),
        Some(v) => string_list(v, "groupBy")?
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                if catalog::is_conversation_dimension(name) {
                    Ok(Dim::from_name(name))
                } else {
                    Err(refuse(
                        format!("groupBy[{i}]"),
                        format!("unknown dimension '{name}' in groupBy"),
                    ))
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
    };

    let mut parse = FilterParse {
        world,
        conditions: Vec::new(),
        predicates: 0,
    };
    let filter = match field("filter") {
        None => None,
        Some(v) => Some(parse_clause(v, "filter", 1, &mut parse)?),
    };
    if let Some(cap) = limits.max_predicates
        && parse.predicates > cap
    {
        return Err(refuse(
            "filter",
            format!(
                "the filter has {} predicates; at most {cap} are allowed in one query",
                parse.predicates
            ),
        ));
    }

    let names = match field("metrics") {
        None => return Err(refuse("metrics", "metrics is required")),
        Some(v) => string_list(v, "metrics")?,
    };
    if names.is_empty() {
        return Err(refuse("metrics", "metrics must name at least one metric"));
    }
    let mut metrics: Vec<Option<Metric>> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        if !catalog::is_conversation_metric(name) {
            return Err(refuse(
                format!("metrics[{i}]"),
                format!("unknown metric '{name}' in metrics"),
            ));
        }
        if !seen.contains(&name) {
            seen.push(name);
            metrics.push(Metric::from_name(name));
        }
    }

    Ok(AggregateQuery {
        bounds,
        group_by,
        filter,
        conditions: parse.conditions,
        metrics,
    })
}

fn string_list<'a>(value: &'a Value, field: &str) -> Result<Vec<&'a str>, QueryError> {
    let Value::Array(items) = value else {
        return Err(refuse(
            field,
            format!("{field} must be an array of strings"),
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str().ok_or_else(|| {
                refuse(
                    format!("{field}[{i}]"),
                    format!("{field} must be an array of strings"),
                )
            })
        })
        .collect()
}

fn parse_clause(
    value: &Value,
    path: &str,
    depth: usize,
    parse: &mut FilterParse<'_>,
) -> Result<Clause, QueryError> {
    let Value::Object(obj) = value else {
        return Err(refuse(path, "filter (and each clause) must be an object"));
    };
    let any = match obj.get("type").and_then(Value::as_str) {
        Some("and") => false,
        Some("or") => true,
        Some(other) => {
            return Err(refuse(
                format!("{path}.type"),
                format!("invalid filter type '{other}': must be 'and' or 'or'"),
            ));
        }
        None => {
            return Err(refuse(
                format!("{path}.type"),
                "filter type is required ('and' or 'or')",
            ));
        }
    };
    let list = |name: &str| -> Result<&[Value], QueryError> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items.as_slice()),
            Some(_) => Err(refuse(
                format!("{path}.{name}"),
                format!("filter {name} must be an array"),
            )),
        }
    };
    let written_predicates = list("predicates")?;
    let written_clauses = list("clauses")?;
    if depth >= MAX_FILTER_DEPTH && obj.get("clauses").is_some_and(|c| !c.is_null()) {
        return Err(refuse(
            format!("{path}.clauses"),
            format!(
                "a clause holds only predicates: filters nest at most {MAX_FILTER_DEPTH} levels \
                 (filter, clauses)"
            ),
        ));
    }
    let conditions_before = parse.conditions.len();
    let mut predicates = Vec::new();
    for (i, p) in written_predicates.iter().enumerate() {
        if let Some(predicate) = parse_predicate(p, &format!("{path}.predicates[{i}]"), parse)? {
            predicates.push(predicate);
        }
    }
    let clauses = written_clauses
        .iter()
        .enumerate()
        .map(|(i, c)| parse_clause(c, &format!("{path}.clauses[{i}]"), depth + 1, parse))
        .collect::<Result<Vec<_>, _>>()?;
    if written_predicates.is_empty() && written_clauses.is_empty() {
        return Err(refuse(
            path,
            "filter needs at least one predicate or clause",
        ));
    }
    let only_metric_predicates =
        predicates.is_empty() && clauses.is_empty() && parse.conditions.len() > conditions_before;
    let mut alternatives: Vec<(Dim, HashSet<u32>)> = Vec::new();
    if any {
        // `matches` on a modelled dimension becomes a set member; one on a value or
        // dimension the org lacks can never match, and an `or` loses nothing without it.
        predicates.retain(|p| match (p.operator, p.dim) {
            (Operator::Matches, Some(dim)) => {
                if let Some(want) = p.want {
                    match alternatives.iter_mut().find(|(d, _)| *d == dim) {
                        Some((_, set)) => {
                            set.insert(want);
                        }
                        None => alternatives.push((dim, HashSet::from([want]))),
                    }
                }
                false
            }
            _ => true,
        });
    }
    Ok(Clause {
        any,
        predicates,
        alternatives,
        clauses,
        only_metric_predicates,
    })
}

/// Parses one predicate; a `metric` one is added to `parse.conditions` and gives `None`.
fn parse_predicate(
    value: &Value,
    path: &str,
    parse: &mut FilterParse<'_>,
) -> Result<Option<Predicate>, QueryError> {
    let Value::Object(obj) = value else {
        return Err(refuse(path, "each filter predicate must be an object"));
    };
    parse.predicates += 1;
    let get = |name: &str| obj.get(name).filter(|v| !v.is_null());
    let at = |name: &str| format!("{path}.{name}");
    let kind = match get("type") {
        None => "dimension",
        Some(Value::String(t)) if matches!(t.as_str(), "dimension" | "property" | "metric") => {
            t.as_str()
        }
        Some(other) => {
            return Err(refuse(
                at("type"),
                format!(
                    "invalid predicate type {other}: must be 'dimension', 'property' or 'metric'"
                ),
            ));
        }
    };
    let operator = match get("operator") {
        None => Operator::Matches,
        Some(Value::String(s)) if s == "matches" => Operator::Matches,
        Some(Value::String(s)) if s == "exists" => Operator::Exists,
        Some(Value::String(s)) if s == "notExists" => Operator::NotExists,
        Some(other) => {
            return Err(refuse(
                at("operator"),
                format!(
                    "invalid predicate operator {other}: must be 'matches', 'exists' or \
                     'notExists'"
                ),
            ));
        }
    };
    let name_of = |field: &str| match get(field) {
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(refuse(
            at(field),
            format!("predicate {field} must be a string"),
        )),
        None => Err(refuse(
            at(field),
            format!("a '{kind}' predicate needs a {field}"),
        )),
    };
    let matched_text = |name: &str| match (operator, get("value")) {
        (Operator::Matches, Some(Value::String(v))) => Ok(Some(v.as_str())),
        (Operator::Matches, Some(_)) => Err(refuse(
            at("value"),
            format!("predicate value for '{name}' must be a string"),
        )),
        (Operator::Matches, None) => Err(refuse(
            at("value"),
            format!("predicate on '{name}' with operator 'matches' needs a value"),
        )),
        _ => Ok(None),
    };
    match kind {
        "metric" => {
            let name = name_of("metric")?;
            if !catalog::is_conversation_metric(name) {
                return Err(refuse(
                    at("metric"),
                    format!("unknown metric '{name}' in filter"),
                ));
            }
            let test = match operator {
                Operator::Exists => MetricTest::Exists,
                Operator::NotExists => MetricTest::NotExists,
                Operator::Matches => match get("range") {
                    Some(range) => MetricTest::Within(parse_range(range, &at("range"))?),
                    None => {
                        let value = match get("value") {
                            Some(Value::String(v)) => v.trim().parse::<f64>().ok(),
                            _ => None,
                        };
                        let Some(value) = value.filter(|v| v.is_finite()) else {
                            return Err(refuse(
                                at("value"),
                                format!(
                                    "a 'matches' predicate on metric '{name}' needs a range or \
                                     a numeric value"
                                ),
                            ));
                        };
                        MetricTest::Within(Range {
                            gte: Some(value),
                            lte: Some(value),
                            ..Range::default()
                        })
                    }
                },
            };
            parse.conditions.push(MetricCondition {
                metric: Metric::from_name(name),
                test,
            });
            Ok(None)
        }
        "property" => {
            let name = name_of("property")?;
            match get("propertyType") {
                None => {}
                Some(Value::String(t)) if PROPERTY_TYPES.contains(&t.as_str()) => {}
                Some(other) => {
                    return Err(refuse(
                        at("propertyType"),
                        format!(
                            "invalid propertyType {other}: must be one of {}",
                            PROPERTY_TYPES.join(", ")
                        ),
                    ));
                }
            }
            matched_text(name)?;
            Ok(Some(Predicate {
                dim: None,
                operator,
                want: None,
            }))
        }
        _ => {
            let name = name_of("dimension")?;
            if !catalog::is_conversation_dimension(name) {
                return Err(refuse(
                    at("dimension"),
                    format!("unknown dimension '{name}' in filter"),
                ));
            }
            let dim = Dim::from_name(name);
            let want =
                matched_text(name)?.and_then(|v| dim.and_then(|d| parse.world.dim_code(d, v)));
            Ok(Some(Predicate {
                dim,
                operator,
                want,
            }))
        }
    }
}

/// A `NumericRange` object: `gt`, `gte`, `lt`, `lte`, numbers, at least one.
fn parse_range(value: &Value, path: &str) -> Result<Range, QueryError> {
    let Value::Object(obj) = value else {
        return Err(refuse(
            path,
            "range must be an object with gt, gte, lt or lte",
        ));
    };
    let bound = |name: &str| match obj.get(name).filter(|v| !v.is_null()) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(_) => Err(refuse(
            format!("{path}.{name}"),
            format!("range {name} must be a number"),
        )),
    };
    let range = Range {
        gt: bound("gt")?,
        gte: bound("gte")?,
        lt: bound("lt")?,
        lte: bound("lte")?,
    };
    if range.gt.is_none() && range.gte.is_none() && range.lt.is_none() && range.lte.is_none() {
        return Err(refuse(path, "range needs at least one of gt, gte, lt, lte"));
    }
    Ok(range)
}

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
                        "interval": format!(
                            "{}/{}",
                            period::format_ms(query.bounds[bucket]),
                            period::format_ms(query.bounds[bucket + 1])
                        ),
                        "metrics": metrics,
                    })
                })
                .collect();
            json!({ "group": group, "data": data })
        })
        .collect();
    json!({ "results": results })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAR_FUTURE: i64 = i64::MAX / 2;

    fn world() -> World {
        World::new(1, 8)
    }

    const LIMITS: QueryLimits = QueryLimits {
        max_predicates: Some(100),
    };

    fn query(world: &World, body: Value) -> Result<AggregateQuery, String> {
        parse_query(body.to_string().as_bytes(), world, LIMITS).map_err(|e| e.message)
    }

    fn run_json(world: &World, body: Value) -> Value {
        match query(world, body) {
            Ok(q) => run(world, &q, FAR_FUTURE),
            Err(e) => json!({ "error": e }),
        }
    }

    /// Sums `count` (or `sum`) of a metric over every group and bucket.
    fn total(result: &Value, metric: &str, field: &str) -> i64 {
        let mut t = 0;
        for r in result["results"].as_array().into_iter().flatten() {
            for d in r["data"].as_array().into_iter().flatten() {
                for m in d["metrics"].as_array().into_iter().flatten() {
                    if m["metric"] == metric {
                        t += m["stats"][field].as_i64().unwrap_or(0);
                    }
                }
            }
        }
        t
    }

    #[test]
    fn validation_messages_name_the_problem() {
        let w = world();
        let base = || json!({"interval": "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z", "metrics": ["nOffered"]});
        let err = |body: Value| query(&w, body).err().unwrap_or_default();
        assert!(query(&w, base()).is_ok());
        assert!(
            parse_query(b"{not json", &w, LIMITS)
                .err()
                .is_some_and(|e| e.message.contains("JSON"))
        );
        assert!(parse_query(b"[1]", &w, LIMITS).is_err());
        let mut b = base();
        b["metrics"] = json!(["nFoo"]);
        assert!(err(b).contains("nFoo"));
        let mut b = base();
        b["metrics"] = json!([]);
        assert!(err(b).contains("metrics"));
        let mut b = base();
        b["groupBy"] = json!(["fooId"]);
        assert!(err(b).contains("fooId"));
        let mut b = base();
        b["filter"] = json!({"type": "and", "predicates": [{"dimension": "barId", "value": "x"}]});
        assert!(err(b).contains("barId"));
        let mut b = base();
        b["filter"] =
            json!({"type": "xor", "predicates": [{"dimension": "queueId", "value": "x"}]});
        assert!(err(b).contains("xor"));
        let mut b = base();
        b["filter"] = json!({"type": "and", "predicates": [{"dimension": "queueId"}]});
        assert!(err(b).contains("value"));
        let mut b = base();
        b["filter"] = json!({"type": "and", "predicates": []});
        assert!(err(b).contains("predicate"));
        let mut b = base();
        b["granularity"] = json!("PT7M");
        assert!(err(b).contains("PT7M"));
        let mut b = base();
        b["timeZone"] = json!("Europe/Nowhere");
        assert!(err(b).contains("Europe/Nowhere"));
        let b = json!({"metrics": ["nOffered"]});
        assert!(err(b).contains("interval"));
        // Unknown fields are ignored.
        let mut b = base();
        b["somethingNew"] = json!({"x": 1});
        b["flattenMultivaluedDimensions"] = json!(true);
        assert!(query(&w, b).is_ok());
    }

    /// The field each refusal names, as `details[].fieldName` carries it.
    #[test]
    fn refusals_name_the_field() {
        let w = world();
        let field = |body: Value| {
            parse_query(body.to_string().as_bytes(), &w, LIMITS)
                .err()
                .map(|e| e.field)
                .unwrap_or_default()
        };
        let interval = "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z";
        let with_filter = |filter: Value| json!({"interval": interval, "metrics": ["nOffered"], "filter": filter});
        assert_eq!(
            field(json!({"interval": interval, "metrics": ["nOffered", "nOfered"]})),
            "metrics[1]"
        );
        assert_eq!(
            field(json!({"interval": interval, "metrics": ["oWaiting"]})),
            "metrics[0]"
        );
        assert_eq!(
            field(
                json!({"interval": interval, "metrics": ["nOffered"], "groupBy": ["queueId", "queueID"]})
            ),
            "groupBy[1]"
        );
        assert_eq!(
            field(with_filter(
                json!({"type": "and", "clauses": [{"type": "or", "predicates": [
                {"dimension": "queueId", "value": "a"}, {"dimension": "mediatype", "value": "voice"}]}]})
            )),
            "filter.clauses[0].predicates[1].dimension"
        );
        assert_eq!(
            field(with_filter(json!({"type": "and", "predicates": [
                {"type": "metric", "metric": "tHandel", "range": {"gt": 1}}]}))),
            "filter.predicates[0].metric"
        );
        assert_eq!(
            field(with_filter(json!({"type": "and", "predicates": [
                {"type": "metric", "metric": "tHandle", "range": {}}]}))),
            "filter.predicates[0].range"
        );
        assert_eq!(
            field(with_filter(json!({"type": "and", "predicates": [
                {"type": "property", "property": "x", "propertyType": "float", "value": "1"}]}))),
            "filter.predicates[0].propertyType"
        );
        assert_eq!(
            field(with_filter(
                json!({"type": "and", "predicates": [{"type": "segment"}]})
            )),
            "filter.predicates[0].type"
        );
        assert_eq!(field(json!({"metrics": ["nOffered"]})), "interval");
    }

    #[test]
    fn filters_nest_two_levels_at_most() {
        let w = world();
        let interval = "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z";
        let predicate = json!({"dimension": "mediaType", "value": "voice"});
        let two = json!({"interval": interval, "metrics": ["nOffered"], "filter":
            {"type": "and", "clauses": [{"type": "or", "predicates": [predicate]}]}});
        assert!(query(&w, two).is_ok());
        let three = json!({"interval": interval, "metrics": ["nOffered"], "filter":
            {"type": "and", "clauses": [{"type": "or", "predicates": [predicate],
                "clauses": [{"type": "and", "predicates": [predicate]}]}]}});
        let error = parse_query(three.to_string().as_bytes(), &w, LIMITS).err();
        assert_eq!(
            error.map(|e| e.field).as_deref(),
            Some("filter.clauses[0].clauses")
        );
    }

    #[test]
    fn predicates_are_capped_over_every_level() {
        let w = world();
        let interval = "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z";
        let predicates = |n: usize| {
            (0..n)
                .map(|i| json!({"dimension": "queueId", "value": format!("q{i}")}))
                .collect::<Vec<_>>()
        };
        let body = |top: usize, nested: usize| {
            let mut top_level = vec![json!({"dimension": "mediaType", "operator": "exists"})];
            top_level.extend(predicates(top));
            json!({"interval": interval, "metrics": ["nOffered"], "filter": {"type": "and",
                "predicates": top_level,
                "clauses": [{"type": "or", "predicates": predicates(nested)}]}})
        };
        assert!(query(&w, body(49, 50)).is_ok());
        let over = query(&w, body(50, 50)).err().unwrap_or_default();
        assert!(
            over.contains("101 predicates") && over.contains("100"),
            "{over}"
        );
        let lifted = QueryLimits {
            max_predicates: None,
        };
        assert!(parse_query(body(500, 500).to_string().as_bytes(), &w, lifted).is_ok());
    }

    #[test]
    fn metric_predicates_filter_groups_by_their_value() {
        let w = world();
        let interval = "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z";
        let groups = |filter: Option<Value>| {
            let mut body = json!({"interval": interval, "groupBy": ["queueId", "mediaType"],
                "metrics": ["nOffered"]});
            if let Some(filter) = filter {
                body["filter"] = filter;
            }
            let result = run_json(&w, body);
            result["results"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|g| {
                    let count = g["data"][0]["metrics"][0]["stats"]["count"]
                        .as_i64()
                        .unwrap_or(0);
                    (g["group"].to_string(), count)
                })
                .collect::<Vec<_>>()
        };
        let all = groups(None);
        let mut counts: Vec<i64> = all.iter().map(|(_, c)| *c).collect();
        counts.sort_unstable();
        let median = counts[counts.len() / 2];
        assert!(
            counts[0] < median,
            "the groups' counts do not differ: {counts:?}"
        );
        let busy = groups(Some(json!({"type": "and", "predicates": [
            {"type": "metric", "metric": "nOffered", "range": {"gte": median}}]})));
        let expected: Vec<_> = all.iter().filter(|(_, c)| *c >= median).cloned().collect();
        assert!(!busy.is_empty() && busy.len() < all.len());
        assert_eq!(busy, expected);
        // On a metric that is not requested, a timer: groups whose handle time sums to
        // more than zero are those with handled conversations.
        let handled = groups(Some(json!({"type": "and", "predicates": [
            {"type": "metric", "metric": "tHandle", "range": {"gt": 0}}]})));
        assert!(!handled.is_empty() && handled.len() <= all.len());
        // A metric the model has no data for never has a value.
        let none = groups(Some(json!({"type": "and", "predicates": [
            {"type": "metric", "metric": "tTransmitting", "operator": "exists"}]})));
        assert!(none.is_empty());
        let every = groups(Some(json!({"type": "and", "predicates": [
            {"type": "metric", "metric": "tTransmitting", "operator": "notExists"}]})));
        assert_eq!(every, all);
    }

    #[test]
    fn property_predicates_are_accepted_and_never_match() {
        let w = world();
        let interval = "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z";
        let offered = |predicate: Value| {
            total(
                &run_json(
                    &w,
                    json!({"interval": interval, "metrics": ["nOffered"],
                        "filter": {"type": "and", "predicates": [predicate]}}),
                ),
                "nOffered",
                "count",
            )
        };
        let unfiltered = total(
            &run_json(&w, json!({"interval": interval, "metrics": ["nOffered"]})),
            "nOffered",
            "count",
        );
        assert!(unfiltered > 0);
        assert_eq!(
            offered(
                json!({"type": "property", "property": "vip", "propertyType": "bool",
                "operator": "matches", "value": "true"})
            ),
            0
        );
        assert_eq!(
            offered(json!({"type": "property", "property": "vip", "operator": "notExists"})),
            unfiltered
        );
    }

    #[test]
    fn finer_buckets_add_up_to_coarser_ones() {
        let w = world();
        let metrics = json!([
            "nOffered",
            "tHandle",
            "tAnswered",
            "oServiceLevel",
            "tAbandon"
        ]);
        let coarse = run_json(
            &w,
            json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "metrics": metrics}),
        );
        let fine = run_json(
            &w,
            json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "granularity": "PT15M", "metrics": metrics}),
        );
        for (m, f) in [
            ("nOffered", "count"),
            ("tHandle", "count"),
            ("tHandle", "sum"),
            ("tAnswered", "sum"),
            ("oServiceLevel", "denominator"),
            ("oServiceLevel", "numerator"),
            ("tAbandon", "count"),
        ] {
            let c = total(&coarse, m, f);
            assert!(c > 0, "{m}.{f} is zero");
            assert_eq!(c, total(&fine, m, f), "{m}.{f}");
        }
        assert_eq!(
            coarse["results"][0]["data"].as_array().map(Vec::len),
            Some(1)
        );
        assert_eq!(fine["results"][0]["data"].as_array().map(Vec::len), Some(4));
    }

    #[test]
    fn filters_select_and_combine() {
        let w = world();
        let q0 = w.queue_ids()[0].clone();
        let q1 = w.queue_ids()[1].clone();
        let interval = "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z";
        let one = |q: &str| {
            total(
                &run_json(
                    &w,
                    json!({"interval": interval, "metrics": ["nOffered"],
                        "filter": {"type": "and", "predicates": [{"type": "dimension", "dimension": "queueId", "operator": "matches", "value": q}]}}),
                ),
                "nOffered",
                "count",
            )
        };
        let both = total(
            &run_json(
                &w,
                json!({"interval": interval, "metrics": ["nOffered"],
                    "filter": {"type": "or", "predicates": [
                        {"dimension": "queueId", "value": q0},
                        {"dimension": "queueId", "value": q1}]}}),
            ),
            "nOffered",
            "count",
        );
        assert!(one(&q0) > 0 && one(&q1) > 0);
        assert_eq!(one(&q0) + one(&q1), both);
        assert_eq!(one("no-such-queue"), 0);
        let none = run_json(
            &w,
            json!({"interval": interval, "metrics": ["nOffered"],
                "filter": {"type": "and", "predicates": [{"dimension": "queueId", "value": "nope"}]}}),
        );
        assert_eq!(none, json!({}));
        // Nested clause: voice in queue 0, and (userId exists) -> only answered ones.
        let answered = run_json(
            &w,
            json!({"interval": interval, "metrics": ["tAbandon", "tAnswered"],
                "filter": {"type": "and",
                    "predicates": [{"dimension": "mediaType", "value": "voice"}],
                    "clauses": [{"type": "or", "predicates": [{"dimension": "userId", "operator": "exists"}]}]}}),
        );
        assert_eq!(total(&answered, "tAbandon", "count"), 0);
        assert!(total(&answered, "tAnswered", "count") > 0);
        // notExists on a dimension the model lacks matches everything.
        let all = run_json(
            &w,
            json!({"interval": interval, "metrics": ["nOffered"],
                "filter": {"type": "and", "predicates": [{"dimension": "ani", "operator": "notExists"}]}}),
        );
        let unfiltered = run_json(&w, json!({"interval": interval, "metrics": ["nOffered"]}));
        assert_eq!(all, unfiltered);
    }

    #[test]
    fn groups_lack_keys_that_do_not_apply() {
        let w = world();
        let r = run_json(
            &w,
            json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z",
                "groupBy": ["queueId", "userId", "divisionId"], "metrics": ["tAbandon", "tTalk"]}),
        );
        let results = r["results"].as_array().cloned().unwrap_or_default();
        let without_user: Vec<&Value> = results
            .iter()
            .filter(|g| g["group"].get("userId").is_none())
            .collect();
        assert!(!without_user.is_empty());
        for g in &without_user {
            assert!(g["group"].get("queueId").is_some());
            assert!(g["group"].get("divisionId").is_none());
            let metrics = &g["data"][0]["metrics"];
            assert_eq!(metrics[0]["metric"], "tAbandon");
            assert_eq!(metrics.as_array().map(Vec::len), Some(1));
        }
        assert!(results.iter().any(|g| g["group"].get("userId").is_some()));
    }

    #[test]
    fn future_measurements_are_not_reported() {
        let w = world();
        let q = query(
            &w,
            json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "metrics": ["nOffered"]}),
        );
        let Ok(q) = q else {
            panic!("query rejected");
        };
        let half = run(&w, &q, 1_795_564_800_000 + 10 * 3_600_000 + 1_800_000);
        let full = run(&w, &q, FAR_FUTURE);
        let (h, f) = (
            total(&half, "nOffered", "count"),
            total(&full, "nOffered", "count"),
        );
        assert!(h > 0 && h < f, "half {h} full {f}");
        assert_eq!(run(&w, &q, 0), json!({}));
    }

    #[test]
    fn unmodelled_metrics_have_no_data() {
        let w = world();
        let r = run_json(
            &w,
            json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "metrics": ["tIvr", "nOffered", "nOffered"]}),
        );
        let metrics = &r["results"][0]["data"][0]["metrics"];
        assert_eq!(metrics.as_array().map(Vec::len), Some(1));
        assert_eq!(metrics[0]["metric"], "nOffered");
        let r = run_json(
            &w,
            json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "metrics": ["tIvr"]}),
        );
        assert_eq!(r, json!({}));
    }

    /// A whole day over every queue, media type and user answers with real traffic; how
    /// fast it does so is measured by the benches, not asserted here.
    #[test]
    fn a_day_over_all_queues_media_types_and_users_has_traffic() {
        let w = world();
        let r = run_json(
            &w,
            json!({"interval": "2026-11-24T00:00:00Z/2026-11-25T00:00:00Z", "granularity": "PT30M",
                "groupBy": ["queueId", "mediaType", "userId"],
                "metrics": ["nOffered", "nConnected", "tHandle", "tTalk", "tAcw", "tAnswered", "tAbandon", "oServiceLevel"]}),
        );
        assert!(total(&r, "nOffered", "count") > 5_000);
    }
}
