//! An aggregation query of any source (`ConversationAggregationQuery`,
//! `UserAggregationQuery`, `FlowAggregationQuery`, ...) as the simulator reads it: parsed
//! and validated as strictly as Genesys does (names from the source's catalogue in
//! [`crate::genesys::sources`], two levels of filter, the predicate caps, each refusal
//! naming its field), and the filter ready to evaluate on measurements (dimension and
//! property predicates; by code for conversations, by name for the other sources) and on
//! groups (metric predicates).

use std::collections::HashSet;

use chrono_tz::Tz;
use serde_json::Value;

use crate::genesys::sources::{CONVERSATIONS, Source};
use crate::simulator::period::{self, BucketStep};
use crate::world::World;
use crate::world::catalog::{DIM_COUNT, Dim, DimValues, Metric};

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
    /// The source whose catalogue the query was held to.
    pub(crate) source: &'static Source,
    /// Bucket boundaries in UTC ms: bucket `i` is `[bounds[i], bounds[i + 1])`.
    pub(crate) bounds: Vec<i64>,
    /// `groupBy` in request order; `None` for catalogue dimensions the model lacks.
    pub(super) group_by: Vec<Option<Dim>>,
    pub(crate) filter: Option<Clause>,
    /// The filter's `metric` predicates, which every group's bucket must satisfy.
    pub(crate) conditions: Vec<MetricCondition>,
    /// Requested metrics, deduplicated, in request order; `None` = not modelled.
    pub(super) metrics: Vec<Option<Metric>>,
    /// `groupBy` as the source's catalogue names, in request order.
    pub(crate) group_names: Vec<&'static str>,
    /// Requested metrics as the catalogue names, deduplicated, in request order.
    pub(crate) metric_names: Vec<&'static str>,
    /// The dimensions the filter's predicates name.
    pub(crate) filter_dims: Vec<&'static str>,
}

/// An `and` / `or` node of the filter.
#[derive(Debug)]
pub(crate) struct Clause {
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
/// no properties). `dim` is `None` for a catalogue dimension the conversation model lacks
/// (it never has a value) and for every dimension of the other sources; `want` is `None`
/// when the org has no such value. The other sources evaluate by `name` and `text`.
#[derive(Debug)]
struct Predicate {
    dim: Option<Dim>,
    operator: Operator,
    want: Option<u32>,
    /// The dimension's name; empty for a `property` predicate.
    name: &'static str,
    /// The value a `matches` wants, kept for sources evaluated by name.
    text: Option<String>,
}

/// A `metric` predicate, tested on each group's bucket after aggregation: the value of
/// a count is its `count`, of a timer its `sum` (ms), of `oServiceLevel` its `ratio`. A
/// bucket without data for the metric has no value. Wherever the predicate sits in the
/// filter, it is combined with the rest by `and`.
#[derive(Debug)]
pub(crate) struct MetricCondition {
    /// `None` for a catalogue metric the model lacks (it never has a value).
    pub(super) metric: Option<Metric>,
    /// The metric's catalogue name, for sources evaluated by name.
    pub(crate) name: &'static str,
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
    pub(crate) fn holds(&self, value: Option<f64>) -> bool {
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

    /// Like `eval` for sources whose measurements carry their values by dimension name.
    fn eval_named<'v>(&self, value_of: &dyn Fn(&str) -> Option<&'v str>) -> bool {
        let value = if self.name.is_empty() {
            None
        } else {
            value_of(self.name)
        };
        match self.operator {
            Operator::Matches => value.is_some() && value == self.text.as_deref(),
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
    pub(super) fn eval(&self, values: &DimValues) -> bool {
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

    /// The filter on a measurement of a source other than conversations, whose values
    /// `value_of` gives by dimension name.
    pub(crate) fn eval_named<'v>(&self, value_of: &dyn Fn(&str) -> Option<&'v str>) -> bool {
        if self.only_metric_predicates {
            return true;
        }
        let mut results = self
            .predicates
            .iter()
            .map(|p| p.eval_named(value_of))
            .chain(self.clauses.iter().map(|c| c.eval_named(value_of)));
        if self.any {
            results.any(|r| r)
        } else {
            results.all(|r| r)
        }
    }

    /// Three-valued evaluation with partial knowledge, used to skip whole
    /// queue × media cells a filter rules out before generating their traffic.
    pub(super) fn eval_partial(&self, known: &[Option<Option<u32>>; DIM_COUNT]) -> Option<bool> {
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
    source: &'static Source,
    conditions: Vec<MetricCondition>,
    predicates: usize,
    /// Dimensions named by predicates, once each, with how many predicates name them.
    dims: Vec<(&'static str, usize)>,
}

impl FilterParse<'_> {
    /// Whether dimension codes of the conversation model apply (the other sources are
    /// evaluated by name).
    fn coded(&self) -> bool {
        self.source.segment == CONVERSATIONS.segment
    }
}

/// `name` as the catalogue `list` spells it, if listed.
fn listed(list: &'static [&'static str], name: &str) -> Option<&'static str> {
    list.binary_search(&name).ok().map(|i| list[i])
}

/// Parses and validates a request body sent to `source`'s aggregates query.
pub(crate) fn parse_query(
    body: &[u8],
    world: &World,
    limits: QueryLimits,
    source: &'static Source,
) -> Result<AggregateQuery, QueryError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| refuse("body", format!("malformed JSON request body: {e}")))?;
    let Value::Object(obj) = value else {
        return Err(refuse(
            "body",
            "the request body must be a JSON object (an aggregation query)",
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

    let group_names = match field("groupBy") {
        None => Vec::new(),
        Some(v) => string_list(v, "groupBy")?
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                listed(source.dimensions, name).ok_or_else(|| {
                    refuse(
                        format!("groupBy[{i}]"),
                        format!("unknown dimension '{name}' in groupBy"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };

    let mut parse = FilterParse {
        world,
        source,
        conditions: Vec::new(),
        predicates: 0,
        dims: Vec::new(),
    };
    let group_by = group_names
        .iter()
        .map(|name| Dim::from_name(name).filter(|_| parse.coded()))
        .collect();
    let filter = match field("filter") {
        None => None,
        Some(v) => Some(parse_clause(v, "filter", 1, &mut parse)?),
    };
    for &(dimension, count) in &parse.dims {
        if let Some(cap) = source.predicate_cap(dimension)
            && count > cap
        {
            return Err(refuse(
                "filter",
                format!(
                    "the filter has {count} {dimension} predicates; at most {cap} are allowed \
                     in one {} query",
                    source.segment
                ),
            ));
        }
    }
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
    let mut metric_names: Vec<&'static str> = Vec::new();
    for (i, name) in names.into_iter().enumerate() {
        let Some(name) = listed(source.metrics, name) else {
            return Err(refuse(
                format!("metrics[{i}]"),
                format!("unknown metric '{name}' in metrics"),
            ));
        };
        if !metric_names.contains(&name) {
            metric_names.push(name);
        }
    }
    let metrics = metric_names
        .iter()
        .map(|name| Metric::from_name(name).filter(|_| parse.coded()))
        .collect();

    Ok(AggregateQuery {
        source,
        bounds,
        group_by,
        filter,
        conditions: parse.conditions,
        metrics,
        group_names,
        metric_names,
        filter_dims: parse.dims.iter().map(|(d, _)| *d).collect(),
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
            let written = name_of("metric")?;
            let Some(name) = listed(parse.source.metrics, written) else {
                return Err(refuse(
                    at("metric"),
                    format!("unknown metric '{written}' in filter"),
                ));
            };
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
                metric: Metric::from_name(name).filter(|_| parse.coded()),
                name,
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
                name: "",
                text: None,
            }))
        }
        _ => {
            let written = name_of("dimension")?;
            let Some(name) = listed(parse.source.dimensions, written) else {
                return Err(refuse(
                    at("dimension"),
                    format!("unknown dimension '{written}' in filter"),
                ));
            };
            match parse.dims.iter_mut().find(|(d, _)| *d == name) {
                Some((_, count)) => *count += 1,
                None => parse.dims.push((name, 1)),
            }
            let text = matched_text(name)?;
            if !parse.coded() {
                return Ok(Some(Predicate {
                    dim: None,
                    operator,
                    want: None,
                    name,
                    text: text.map(str::to_string),
                }));
            }
            let dim = Dim::from_name(name);
            let want = text.and_then(|v| dim.and_then(|d| parse.world.dim_code(d, v)));
            Ok(Some(Predicate {
                dim,
                operator,
                want,
                name,
                text: None,
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
