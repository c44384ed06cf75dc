//! `POST /api/v2/analytics/conversations/aggregates/query`: validating the
//! `ConversationAggregationQuery`, then bucketing and summarising synthetic traffic
//! into a `ConversationAggregateQueryResponse`.
//!
//! Validation is strict where Genesys is strict (unknown metric or dimension names,
//! bad interval, granularity or time zone are a 400 whose message names the problem)
//! and lenient where Genesys is lenient (unknown fields are ignored, valid but
//! unmodelled metrics and dimensions simply have no data).

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono_tz::Tz;
use serde_json::{Map, Value, json};

use super::catalog::{DIM_COUNT, Dim, DimValues, METRIC_COUNT, Metric, MetricKind};
use super::period::{self, BucketStep};
use super::traffic::{Event, MAX_SPAN_MS, Media, SERVICE_LEVEL_TARGET, World};
use crate::genesys::catalog;

/// Filters deeper than this are refused (Genesys documents two levels of nesting).
const MAX_FILTER_DEPTH: usize = 4;

/// A validated query, with names already resolved against the model.
#[derive(Debug)]
pub(crate) struct AggregateQuery {
    /// Bucket boundaries in UTC ms: bucket `i` is `[bounds[i], bounds[i + 1])`.
    bounds: Vec<i64>,
    /// `groupBy` in request order; `None` for catalogue dimensions the model lacks.
    group_by: Vec<Option<Dim>>,
    filter: Option<Clause>,
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operator {
    Matches,
    Exists,
    NotExists,
}

/// A dimension predicate. `dim` is `None` for a catalogue dimension the model lacks
/// (it never has a value); `want` is `None` when the org has no such value.
#[derive(Debug)]
struct Predicate {
    dim: Option<Dim>,
    operator: Operator,
    want: Option<u32>,
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

/// Parses and validates a request body. The error is the message of the 400.
pub(crate) fn parse_query(body: &[u8], world: &World) -> Result<AggregateQuery, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed JSON request body: {e}"))?;
    let Value::Object(obj) = value else {
        return Err("the request body must be a JSON object (ConversationAggregationQuery)".into());
    };
    let field = |name: &str| obj.get(name).filter(|v| !v.is_null());

    let interval = match field("interval") {
        None => return Err("interval is required".into()),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("interval must be a string such as 'start/end'".into()),
    };
    let (start, end) = period::parse_interval(interval)?;

    let tz = match field("timeZone") {
        None => Tz::UTC,
        Some(Value::String(s)) => period::parse_time_zone(s)?,
        Some(_) => return Err("timeZone must be a string (an IANA time zone name)".into()),
    };

    let granularity: Option<(BucketStep, &str)> = match field("granularity") {
        None => None,
        Some(Value::String(s)) => Some((period::parse_granularity(s)?, s.as_str())),
        Some(_) => return Err("granularity must be an ISO-8601 duration string".into()),
    };
    let bounds = period::bucket_boundaries(start, end, granularity, tz)?;

    let group_by = match field("groupBy") {
        None => Vec::new(),
        Some(v) => string_list(v, "groupBy")?
            .into_iter()
            .map(|name| {
                if catalog::is_conversation_dimension(name) {
                    Ok(Dim::from_name(name))
                } else {
                    Err(format!("unknown dimension '{name}' in groupBy"))
                }
            })
            .collect::<Result<Vec<_>, _>>()?,
    };

    let filter = match field("filter") {
        None => None,
        Some(v) => Some(parse_clause(v, world, 1)?),
    };

    let names = match field("metrics") {
        None => return Err("metrics is required".into()),
        Some(v) => string_list(v, "metrics")?,
    };
    if names.is_empty() {
        return Err("metrics must name at least one metric".into());
    }
    let mut metrics: Vec<Option<Metric>> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !catalog::is_conversation_metric(name) {
            return Err(format!("unknown metric '{name}' in metrics"));
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
        metrics,
    })
}

fn string_list<'a>(value: &'a Value, field: &str) -> Result<Vec<&'a str>, String> {
    let Value::Array(items) = value else {
        return Err(format!("{field} must be an array of strings"));
    };
    items
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| format!("{field} must be an array of strings"))
        })
        .collect()
}

fn parse_clause(value: &Value, world: &World, depth: usize) -> Result<Clause, String> {
    if depth > MAX_FILTER_DEPTH {
        return Err(format!(
            "filter is nested more than {MAX_FILTER_DEPTH} levels deep"
        ));
    }
    let (any, predicate_values, clause_values) = clause_fields(value)?;
    let mut predicates = predicate_values
        .iter()
        .map(|p| parse_predicate(p, world))
        .collect::<Result<Vec<_>, _>>()?;
    let clauses = clause_values
        .iter()
        .map(|c| parse_clause(c, world, depth + 1))
        .collect::<Result<Vec<_>, _>>()?;
    if predicates.is_empty() && clauses.is_empty() {
        return Err("filter needs at least one predicate or clause".into());
    }
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
    })
}

/// Whether a filter node is an `or` (else `and`), and its predicates and clauses, the
/// same in the aggregates and the observations query; the error is the 400's message.
pub(crate) fn clause_fields(value: &Value) -> Result<(bool, &[Value], &[Value]), String> {
    let Value::Object(obj) = value else {
        return Err("filter (and each clause) must be an object".into());
    };
    let any = match obj.get("type").and_then(Value::as_str) {
        Some("and") => false,
        Some("or") => true,
        Some(other) => {
            return Err(format!(
                "invalid filter type '{other}': must be 'and' or 'or'"
            ));
        }
        None => return Err("filter type is required ('and' or 'or')".into()),
    };
    let list = |name: &str| -> Result<&[Value], String> {
        match obj.get(name) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items.as_slice()),
            Some(_) => Err(format!("filter {name} must be an array")),
        }
    };
    Ok((any, list("predicates")?, list("clauses")?))
}

fn parse_predicate(value: &Value, world: &World) -> Result<Predicate, String> {
    let (name, operator, value) = predicate_fields(value)?;
    if !catalog::is_conversation_dimension(name) {
        return Err(format!("unknown dimension '{name}' in filter"));
    }
    let dim = Dim::from_name(name);
    let want = value.and_then(|v| dim.and_then(|d| world.dim_code(d, v)));
    Ok(Predicate {
        dim,
        operator,
        want,
    })
}

/// The dimension, operator and (for `matches`) value of a `dimension` predicate, the
/// same in the aggregates and the observations query; the error is the 400's message.
pub(crate) fn predicate_fields(value: &Value) -> Result<(&str, Operator, Option<&str>), String> {
    let Value::Object(obj) = value else {
        return Err("each filter predicate must be an object".into());
    };
    let text = |name: &str| obj.get(name).filter(|v| !v.is_null());
    match text("type") {
        None => {}
        Some(Value::String(t)) if t == "dimension" => {}
        Some(other) => {
            return Err(format!(
                "unsupported predicate type {other}: the simulator supports 'dimension' predicates"
            ));
        }
    }
    let name = match text("dimension") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("predicate dimension must be a string".into()),
        None => return Err("predicate dimension is required".into()),
    };
    let operator = match text("operator") {
        None => Operator::Matches,
        Some(Value::String(s)) if s == "matches" => Operator::Matches,
        Some(Value::String(s)) if s == "exists" => Operator::Exists,
        Some(Value::String(s)) if s == "notExists" => Operator::NotExists,
        Some(other) => {
            return Err(format!(
                "invalid predicate operator {other}: must be 'matches', 'exists' or 'notExists'"
            ));
        }
    };
    let value = match (operator, text("value")) {
        (Operator::Matches, Some(Value::String(v))) => Some(v.as_str()),
        (Operator::Matches, Some(_)) => {
            return Err(format!("predicate value for '{name}' must be a string"));
        }
        (Operator::Matches, None) => {
            return Err(format!(
                "predicate on '{name}' with operator 'matches' needs a value"
            ));
        }
        _ => None,
    };
    Ok((name, operator, value))
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
    let mut slot_of = [None; METRIC_COUNT];
    for (slot, m) in modelled.iter().enumerate() {
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
                    .or_insert_with(|| vec![None; modelled.len()]);
                match &mut stats[slot] {
                    Some(stat) => stat.add(&event),
                    empty @ None => *empty = Some(Stat::first(&event)),
                }
            });
        },
    );

    if acc.is_empty() {
        return json!({});
    }
    let mut groups: BTreeMap<GroupKey, BTreeMap<usize, Vec<Option<Stat>>>> = BTreeMap::new();
    for ((key, bucket), stats) in acc {
        groups.entry(key).or_default().insert(bucket, stats);
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

    fn query(world: &World, body: Value) -> Result<AggregateQuery, String> {
        parse_query(body.to_string().as_bytes(), world)
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
            parse_query(b"{not json", &w)
                .err()
                .unwrap_or_default()
                .contains("JSON")
        );
        assert!(parse_query(b"[1]", &w).is_err());
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
