//! A query's filter as written, and as the aggregates requests of one poll carry it.
//!
//! Genesys refuses request bodies over 512,000 bytes, and may cap the predicates of one
//! filter (none is published for conversation aggregates; the sibling user aggregates
//! endpoint documents 100). A filter over many queues (a `queueId` predicate is about
//! 100 bytes as JSON) is split, when the config is loaded, into as few requests as carry
//! at most the query's `max_predicates_per_request` predicates (default
//! [`DEFAULT_MAX_PREDICATES`]) in at most [`MAX_REQUEST_BYTES`], provided the split is
//! exact: the filter's alternatives are one
//! `or` list of `matches` predicates on one dimension, and the query groups by that
//! dimension. Each request then carries a disjoint share of the values, every group of
//! the answer (which has one value of that dimension) comes from exactly one request, and
//! concatenating the requests' `results` gives what one request would have answered,
//! ratios (`oServiceLevel`) and `min`/`max` stats included.
//!
//! The shapes that are split:
//! - `{type: or, predicates: [P1, P2, ...]}`, every `Pi` a `matches` predicate on the
//!   same dimension (other top-level keys are kept in every request);
//! - `{type: and, predicates: [...], clauses: [..., {type: or, predicates: [P1, ...]}, ...]}`:
//!   an `and` filter with an `or` clause of that kind; every request keeps the other
//!   predicates and clauses whole and carries a share of that clause's alternatives
//!   (when several clauses qualify, the largest is split).
//!
//! Before any of that, [`check_clause`] holds the filter to the and/or shape Genesys
//! requires, so that a malformed filter is refused at start-up with its field named.
//!
//! Anything else that is too large is refused at start-up with the reason: the answers
//! of requests split some other way could not be merged exactly (a group could come
//! from two requests, or be cut in two).

use std::collections::HashSet;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::names;
use crate::genesys::bodies::AggregateQuery;
use crate::genesys::sources::Source;

/// The largest request body the exporter sends: Genesys' limit of 512,000 bytes (limit key
/// `request.bytes.max`).
pub const MAX_REQUEST_BYTES: usize = 512_000;

/// Predicates one request carries at most, unless a query says otherwise: the cap the
/// sibling user aggregates endpoint documents, and the safe guess for this one.
pub const DEFAULT_MAX_PREDICATES: usize = 100;

/// Characters set aside for the interval when a body is measured at load time: the
/// exporter writes 49 (`START/END` in milliseconds, years 1000 to 9999), so real bodies
/// are 31 bytes under the measured ones.
const INTERVAL_ALLOWANCE: usize = 80;

/// The filter of one aggregates request, as compact JSON, ready to send.
#[derive(Clone, Debug)]
pub struct RequestFilter(Box<RawValue>);

impl RequestFilter {
    fn new(value: &Value) -> Result<RequestFilter, String> {
        serde_json::value::to_raw_value(value)
            .map(RequestFilter)
            .map_err(|e| format!("cannot be written as JSON: {e}"))
    }

    /// The JSON of the filter, as sent.
    pub fn json(&self) -> &RawValue {
        &self.0
    }
}

impl PartialEq for RequestFilter {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

/// A query's filter: as written in the config, and the filter of each request a poll
/// sends (one, unless the written filter is too large for one request body).
#[derive(Clone, Debug, PartialEq)]
pub struct QueryFilter {
    written: Value,
    requests: Vec<RequestFilter>,
    split_on: Option<String>,
}

impl QueryFilter {
    /// The filter as written in the config (for showing the config back).
    pub fn written(&self) -> &Value {
        &self.written
    }

    /// The filters of the requests of one poll, in the order they are sent; never empty.
    pub fn requests(&self) -> &[RequestFilter] {
        &self.requests
    }

    /// The dimension whose alternatives were shared out over several requests, if the
    /// filter was split.
    pub fn split_on(&self) -> Option<&str> {
        self.split_on.as_deref()
    }
}

/// Why a filter cannot be used (its shape is wrong, or it cannot be sent): the field
/// concerned and the reason, for the config's error message.
#[derive(Debug, PartialEq)]
pub struct FilterError {
    /// The field of the filter concerned, such as `filter.predicates[3]`.
    pub field: String,
    /// Why: the size, and what keeps the filter from being split exactly.
    pub message: String,
}

impl FilterError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> FilterError {
        FilterError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// What the rest of a request holds besides the filter, to measure whole bodies.
#[derive(Clone, Copy, Debug)]
pub struct RequestShape<'a> {
    /// ISO-8601, as sent (`PT30M`).
    pub granularity: &'a str,
    /// IANA name, as sent.
    pub time_zone: &'a str,
    /// The query's `groupBy`: the split dimension must be in it.
    pub group_by: &'a [String],
    /// The query's `metrics`.
    pub metrics: &'a [String],
    /// Most predicates one request may carry, all levels of the filter together.
    pub max_predicates: usize,
}

impl RequestShape<'_> {
    /// Bytes of the whole request body with this filter, with the interval's margin.
    fn body_bytes(&self, filter: &Value) -> usize {
        let Ok(filter) = RequestFilter::new(filter) else {
            return usize::MAX;
        };
        let query = AggregateQuery {
            interval: "0".repeat(INTERVAL_ALLOWANCE),
            granularity: self.granularity.to_string(),
            time_zone: self.time_zone,
            group_by: self.group_by,
            metrics: self.metrics,
            filter: Some(filter.json()),
        };
        serde_json::to_vec(&query).map_or(usize::MAX, |body| body.len())
    }
}

/// How many predicates a filter carries: its own and those of its clauses.
pub fn predicate_count(filter: &Value) -> usize {
    predicates(filter).len()
        + filter
            .get("clauses")
            .and_then(Value::as_array)
            .map_or(0, |clauses| {
                clauses.iter().map(|c| predicates(c).len()).sum()
            })
}

/// Whether a `dimension` predicate of `filter` (at either level) is on `dimension`: a
/// source's predicate cap applies to the requests of a filter that does.
pub fn uses_dimension(filter: &Value, dimension: &str) -> bool {
    let on = |p: &Value| p.get("dimension").and_then(Value::as_str) == Some(dimension);
    predicates(filter).iter().any(on)
        || filter
            .get("clauses")
            .and_then(Value::as_array)
            .is_some_and(|clauses| clauses.iter().any(|c| predicates(c).iter().any(on)))
}

/// Decides how `filter` (already checked for the and/or shape) is sent: whole when the
/// body fits in [`MAX_REQUEST_BYTES`] and it has at most `shape.max_predicates`
/// predicates, else split exactly into as few requests as fit both, else refused with
/// the reason.
pub fn plan(filter: Value, shape: RequestShape<'_>) -> Result<QueryFilter, FilterError> {
    let whole = shape.body_bytes(&filter);
    let count = predicate_count(&filter);
    if whole <= MAX_REQUEST_BYTES && count <= shape.max_predicates {
        let request = RequestFilter::new(&filter).map_err(|message| FilterError {
            field: "filter".into(),
            message,
        })?;
        return Ok(QueryFilter {
            requests: vec![request],
            written: filter,
            split_on: None,
        });
    }
    let too_large = if whole > MAX_REQUEST_BYTES {
        format!(
            "makes a request body of {whole} bytes, over the {MAX_REQUEST_BYTES} Genesys takes \
             in one request"
        )
    } else {
        format!(
            "has {count} predicates, over the {} one request may carry \
             (max_predicates_per_request)",
            shape.max_predicates
        )
    };
    let (list, dimension) =
        alternatives(&filter, shape.group_by).map_err(|(field, why)| FilterError {
            field,
            message: format!("{too_large}, and it cannot be split over several requests: {why}"),
        })?;
    let chunks = pack(&filter, &list, shape).map_err(|why| FilterError {
        field: list.field.clone(),
        message: format!("{too_large}, and it cannot be split over several requests: {why}"),
    })?;
    Ok(QueryFilter {
        requests: chunks,
        written: filter,
        split_on: Some(dimension),
    })
}

/// Where the list of alternatives that is shared out lives in the filter.
#[derive(Clone, Debug, PartialEq)]
enum Place {
    /// The top-level `predicates` of an `or` filter.
    Top,
    /// The `predicates` of `clauses[i]` of an `and` filter.
    Clause(usize),
}

/// The list of alternatives chosen for splitting.
#[derive(Debug)]
struct Alternatives {
    place: Place,
    /// The config field of the list, for messages.
    field: String,
}

/// What splits exactly, and why nothing else does (used in refusals).
const SPLITTABLE: &str = "only an `or` list of `matches` predicates on one dimension is split \
    (the whole filter, or one `or` clause of an `and` filter), and that dimension must be in \
    group_by, so that every group of the answer comes from exactly one request";
/// How to get going when a filter is refused.
const REMEDY: &str = "make the filter smaller or split it across several queries";

/// Finds the list of alternatives to split and its dimension, or says why there is none.
fn alternatives(
    filter: &Value,
    group_by: &[String],
) -> Result<(Alternatives, String), (String, String)> {
    let generic = || ("filter".to_string(), format!("{SPLITTABLE}; {REMEDY}"));
    let Some(map) = filter.as_object() else {
        return Err(generic());
    };
    let clauses = map.get("clauses").and_then(Value::as_array);
    let place = match map.get("type").and_then(Value::as_str) {
        Some("or") => {
            if clauses.is_some_and(|c| !c.is_empty()) {
                return Err((
                    "filter.clauses".to_string(),
                    format!(
                        "an `or` filter with clauses could match one group in several \
                         requests; {SPLITTABLE}; {REMEDY}"
                    ),
                ));
            }
            Place::Top
        }
        Some("and") => {
            // The largest `or` clause whose predicates all match one dimension.
            let best = clauses
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, clause)| {
                    clause.get("type").and_then(Value::as_str) == Some("or")
                        && one_dimension(predicates(clause)).is_ok()
                })
                .max_by_key(|(_, clause)| predicates(clause).len())
                .map(|(i, _)| i);
            match best {
                Some(i) => Place::Clause(i),
                None => {
                    return Err((
                        "filter".to_string(),
                        format!(
                            "this `and` filter has no `or` clause whose predicates all \
                             `match` one dimension; {SPLITTABLE}; {REMEDY}"
                        ),
                    ));
                }
            }
        }
        _ => return Err(generic()),
    };
    let (field, list) = match place {
        Place::Top => ("filter.predicates".to_string(), predicates(filter)),
        Place::Clause(i) => (
            format!("filter.clauses[{i}].predicates"),
            clauses.and_then(|c| c.get(i)).map_or(&[][..], predicates),
        ),
    };
    let dimension = one_dimension(list).map_err(|(index, why)| {
        (
            format!("{field}[{index}]"),
            format!("{why}; {SPLITTABLE}; {REMEDY}"),
        )
    })?;
    if !group_by.iter().any(|d| d == dimension) {
        return Err((
            field,
            format!(
                "{dimension} is not in group_by, so the answers of split requests could not \
                 be merged exactly (a group would add up data from several requests); add \
                 {dimension} to group_by or {REMEDY}"
            ),
        ));
    }
    let dimension = dimension.to_string();
    Ok((Alternatives { place, field }, dimension))
}

/// The `predicates` list of a filter or clause (empty when it has none).
fn predicates(clause: &Value) -> &[Value] {
    clause
        .get("predicates")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The value of a plain `matches` predicate on `dimension`: keys `type` (`dimension`),
/// `dimension`, `operator` (`matches`) and a string `value`, nothing else.
fn matched_value(predicate: &Value) -> Result<(&str, &str), String> {
    let Some(map) = predicate.as_object() else {
        return Err("it is not a predicate mapping".into());
    };
    let text = |key: &str| map.get(key).and_then(Value::as_str);
    if map.get("type").is_some_and(|t| t != "dimension") {
        return Err("it is not a `dimension` predicate".into());
    }
    if map.get("operator").is_some_and(|o| o != "matches") {
        return Err(format!(
            "its operator is {}, not `matches`",
            map.get("operator").map_or(String::new(), Value::to_string)
        ));
    }
    if let Some(other) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "dimension" | "operator" | "value"))
    {
        return Err(format!(
            "it has the key `{other}`, beyond a plain `matches` predicate"
        ));
    }
    match (text("dimension"), text("value")) {
        (Some(dimension), Some(value)) => Ok((dimension, value)),
        _ => Err("it lacks a string `dimension` or `value`".into()),
    }
}

/// The one dimension every predicate of `list` matches, or the index of the first that
/// breaks the pattern and why.
fn one_dimension(list: &[Value]) -> Result<&str, (usize, String)> {
    let mut dimension: Option<&str> = None;
    for (i, predicate) in list.iter().enumerate() {
        let (d, _) =
            matched_value(predicate).map_err(|why| (i, format!("predicate {i}: {why}")))?;
        match dimension {
            None => dimension = Some(d),
            Some(first) if first != d => {
                return Err((
                    i,
                    format!(
                        "predicate {i} is on {d} while the first is on {first}; alternatives \
                         on several dimensions would put one group in several requests"
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    dimension.ok_or_else(|| (0, "the list is empty".to_string()))
}

/// Shares the alternatives out, repeated values dropped, over as few requests as fit:
/// greedily, in the written order, each request filled until the next alternative would
/// not fit. Every request but the last is then full to within one alternative, so the
/// count is the fewest possible (for alternatives of one length, such as ids) or close to
/// it. Each request's body is measured again whole.
fn pack(
    filter: &Value,
    list: &Alternatives,
    shape: RequestShape<'_>,
) -> Result<Vec<RequestFilter>, String> {
    // The filter without the list, and the list, each value once.
    let mut skeleton = filter.clone();
    let slot = list_slot(&mut skeleton, &list.place).ok_or("the list moved")?;
    let all = std::mem::take(slot);
    let mut seen = HashSet::new();
    let mut items: Vec<(Value, usize)> = Vec::with_capacity(all.len());
    for predicate in all {
        let value = matched_value(&predicate).map(|(_, v)| v.to_string())?;
        if seen.insert(value) {
            let bytes = serde_json::to_vec(&predicate).map_or(usize::MAX, |j| j.len());
            items.push((predicate, bytes));
        }
    }
    drop(seen);
    // Every request carries the rest of the filter whole; the share comes on top.
    let kept = predicate_count(&skeleton);
    let share_size = shape.max_predicates.saturating_sub(kept);
    if share_size == 0 {
        return Err(format!(
            "the rest of the filter has {kept} predicates, leaving no room under the {} one \
             request may carry (max_predicates_per_request); {REMEDY}",
            shape.max_predicates
        ));
    }
    // `[]` becomes `[a,b,...]`: each item adds its bytes and, after the first, a comma.
    let base = shape.body_bytes(&skeleton);
    let room = MAX_REQUEST_BYTES.saturating_sub(base);
    let mut chunks: Vec<Vec<Value>> = Vec::new();
    let mut used = 0;
    for (item, bytes) in items {
        let extra = bytes + usize::from(chunks.last().is_some_and(|c| !c.is_empty()));
        match chunks.last_mut() {
            Some(chunk) if used + extra <= room && chunk.len() < share_size => {
                chunk.push(item);
                used += extra;
            }
            _ if bytes > room => {
                return Err(format!(
                    "the rest of the request takes {base} bytes, leaving no room for even one \
                     alternative; {REMEDY}"
                ));
            }
            _ => {
                chunks.push(vec![item]);
                used = bytes;
            }
        }
    }
    let mut requests = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let mut filter = skeleton.clone();
        if let Some(slot) = list_slot(&mut filter, &list.place) {
            *slot = chunk;
        }
        let bytes = shape.body_bytes(&filter);
        if bytes > MAX_REQUEST_BYTES {
            return Err(format!(
                "a share of it still makes a body of {bytes} bytes; {REMEDY}"
            ));
        }
        requests.push(RequestFilter::new(&filter)?);
    }
    Ok(requests)
}

/// The list at `place` in a filter, to take it out or put a share back.
fn list_slot<'a>(filter: &'a mut Value, place: &Place) -> Option<&'a mut Vec<Value>> {
    let clause: &mut Map<String, Value> = match place {
        Place::Top => filter.as_object_mut()?,
        Place::Clause(i) => filter
            .get_mut("clauses")?
            .as_array_mut()?
            .get_mut(*i)?
            .as_object_mut()?,
    };
    clause.get_mut("predicates")?.as_array_mut()
}

/// What a filter must look like, for messages.
const FILTER_SHAPE: &str = "expected a mapping with `type: and` or `type: or` and a \
    `predicates` list and/or a `clauses` list, e.g. {type: and, predicates: [{type: \
    dimension, dimension: mediaType, value: voice}]}";
/// What a clause of a filter must look like, for messages.
const CLAUSE_SHAPE: &str = "expected a mapping with `type: and` or `type: or` and a \
    `predicates` list, e.g. {type: or, predicates: [{type: dimension, dimension: queueId, \
    value: ...}]}";

/// The YAML type of a value, for messages.
fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// Checks the shape Genesys requires of a filter (`top`) or of one of its clauses (two
/// levels at most: a clause holds only predicates), and the dimension and metric names of
/// its predicates against the catalogue (`allowed`: the query's `allow_unlisted`); the rest
/// of each predicate is passed through for Genesys to judge, as the API grows new
/// predicate kinds.
pub(super) fn check_clause(
    source: &Source,
    value: &serde_json::Value,
    path: &str,
    top: bool,
    allowed: &[String],
) -> Result<(), FilterError> {
    let Some(map) = value.as_object() else {
        return Err(FilterError::new(
            path,
            format!(
                "found {}; {}",
                kind(value),
                if top { FILTER_SHAPE } else { CLAUSE_SHAPE }
            ),
        ));
    };
    match map.get("type") {
        None => {
            return Err(FilterError::new(
                format!("{path}.type"),
                "missing; expected `and` or `or`",
            ));
        }
        Some(serde_json::Value::String(t)) if t == "and" || t == "or" => {}
        Some(other) => {
            return Err(FilterError::new(
                format!("{path}.type"),
                format!("{other} is not `and` or `or`"),
            ));
        }
    }
    let predicates = map.get("predicates");
    let clauses = if top { map.get("clauses") } else { None };
    if !top && map.contains_key("clauses") {
        return Err(FilterError::new(
            format!("{path}.clauses"),
            "a clause holds only predicates: Genesys nests a filter two levels at most \
             (filter, then clauses); move these conditions into the filter's own clauses",
        ));
    }
    if predicates.is_none() && clauses.is_none() {
        let wanted = if top {
            "a `predicates` list, a `clauses` list, or both"
        } else {
            "a `predicates` list"
        };
        return Err(FilterError::new(
            path,
            format!("has no conditions; expected {wanted}"),
        ));
    }
    let mut conditions = 0;
    if let Some(predicates) = predicates {
        let field = format!("{path}.predicates");
        let Some(list) = predicates.as_array() else {
            return Err(FilterError::new(
                field,
                format!(
                    "found {}; expected a list of predicates such as [{{type: dimension, \
                     dimension: mediaType, value: voice}}]",
                    kind(predicates)
                ),
            ));
        };
        for (i, predicate) in list.iter().enumerate() {
            if !predicate.is_object() {
                return Err(FilterError::new(
                    format!("{field}[{i}]"),
                    format!(
                        "found {}; expected a predicate mapping such as {{type: dimension, \
                         dimension: mediaType, value: voice}}",
                        kind(predicate)
                    ),
                ));
            }
            check_predicate_names(source, predicate, &format!("{field}[{i}]"), allowed)?;
        }
        conditions += list.len();
    }
    if let Some(clauses) = clauses {
        let field = format!("{path}.clauses");
        let Some(list) = clauses.as_array() else {
            return Err(FilterError::new(
                field,
                format!(
                    "found {}; expected a list of clauses such as [{{type: or, predicates: \
                     [...]}}]",
                    kind(clauses)
                ),
            ));
        };
        for (i, clause) in list.iter().enumerate() {
            check_clause(source, clause, &format!("{field}[{i}]"), false, allowed)?;
        }
        conditions += list.len();
    }
    if conditions == 0 {
        return Err(FilterError::new(
            path,
            "has empty lists; give at least one predicate or clause, or leave out the filter",
        ));
    }
    Ok(())
}

/// The dimension of a `dimension` predicate (the default type) and the metric of a
/// `metric` one, against the catalogue.
fn check_predicate_names(
    source: &Source,
    predicate: &serde_json::Value,
    path: &str,
    allowed: &[String],
) -> Result<(), FilterError> {
    let text = |key: &str| predicate.get(key).and_then(serde_json::Value::as_str);
    match text("type").unwrap_or("dimension") {
        "dimension" => match text("dimension") {
            Some(name) => names::check_dimension(source, name, allowed)
                .map_err(|m| FilterError::new(format!("{path}.dimension"), m)),
            None => Ok(()),
        },
        "metric" => match text("metric") {
            Some(name) => names::check_metric(source, name, allowed)
                .map_err(|m| FilterError::new(format!("{path}.metric"), m)),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn id(i: usize) -> String {
        format!("{i:08x}-0000-4000-8000-000000000000")
    }

    fn matches(dimension: &str, value: &str) -> Value {
        json!({"type": "dimension", "dimension": dimension, "operator": "matches", "value": value})
    }

    fn queue_list(n: usize) -> Vec<Value> {
        (0..n).map(|i| matches("queueId", &id(i))).collect()
    }

    struct Query {
        group_by: Vec<String>,
        metrics: Vec<String>,
        max_predicates: usize,
    }

    impl Query {
        fn new(group_by: &[&str]) -> Query {
            Query {
                group_by: strings(group_by),
                metrics: strings(&["nOffered", "tHandle", "oServiceLevel"]),
                max_predicates: usize::MAX,
            }
        }

        fn shape(&self) -> RequestShape<'_> {
            RequestShape {
                granularity: "PT30M",
                time_zone: "Europe/London",
                group_by: &self.group_by,
                metrics: &self.metrics,
                max_predicates: self.max_predicates,
            }
        }

        fn plan(&self, filter: Value) -> Result<QueryFilter, FilterError> {
            plan(filter, self.shape())
        }

        /// The real body of each request, with a real interval.
        fn bodies(&self, filter: &QueryFilter) -> Vec<Vec<u8>> {
            filter
                .requests()
                .iter()
                .map(|r| {
                    serde_json::to_vec(&AggregateQuery {
                        interval: "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z".into(),
                        granularity: "PT30M".into(),
                        time_zone: "Europe/London",
                        group_by: &self.group_by,
                        metrics: &self.metrics,
                        filter: Some(r.json()),
                    })
                    .unwrap()
                })
                .collect()
        }
    }

    fn values_of(request: &RequestFilter, place: &Place) -> Vec<String> {
        let mut filter: Value = serde_json::from_str(request.json().get()).unwrap();
        list_slot(&mut filter, place)
            .unwrap()
            .iter()
            .map(|p| p["value"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn a_filter_that_fits_is_sent_whole_as_written() {
        let q = Query::new(&["queueId"]);
        let filter = json!({"type": "or", "predicates": queue_list(4_000)});
        let planned = q.plan(filter.clone()).unwrap();
        assert_eq!(planned.requests().len(), 1);
        assert_eq!(planned.split_on(), None);
        assert_eq!(planned.written(), &filter);
        let sent: Value = serde_json::from_str(planned.requests()[0].json().get()).unwrap();
        assert_eq!(sent, filter);
    }

    /// 12,000 queues, each id once and some twice: every value lands in exactly one
    /// request, each body is under the limit, and the count is the fewest that can hold
    /// the values (they all have one length, so the bound is exact).
    #[test]
    fn an_or_list_is_split_into_the_fewest_requests_that_fit() {
        let q = Query::new(&["queueId", "mediaType"]);
        let mut list = queue_list(12_000);
        list.extend(queue_list(500)); // repeats
        let planned = q.plan(json!({"type": "or", "predicates": list})).unwrap();
        assert_eq!(planned.split_on(), Some("queueId"));

        let item = serde_json::to_vec(&matches("queueId", &id(0)))
            .unwrap()
            .len()
            + 1;
        let empty = json!({"type": "or", "predicates": []});
        let room = MAX_REQUEST_BYTES - q.shape().body_bytes(&empty) + 1;
        let fewest = (12_000 * item).div_ceil(room - room % item);
        assert_eq!(fewest, 3);
        assert_eq!(planned.requests().len(), fewest);

        let mut seen = Vec::new();
        for (request, body) in planned.requests().iter().zip(q.bodies(&planned)) {
            assert!(body.len() <= MAX_REQUEST_BYTES - 31, "{}", body.len());
            seen.extend(values_of(request, &Place::Top));
        }
        let expected: Vec<String> = (0..12_000).map(id).collect();
        assert_eq!(seen, expected, "each value once, in the written order");
        // Every request but the last is full to within one value.
        for body in &q.bodies(&planned)[..2] {
            assert!(body.len() + item > MAX_REQUEST_BYTES - 31);
        }
    }

    #[test]
    fn an_or_clause_of_an_and_filter_is_split_and_the_rest_kept_in_each_request() {
        let q = Query::new(&["queueId", "mediaType"]);
        let voice = matches("mediaType", "voice");
        let small = json!({"type": "or", "predicates": [matches("direction", "inbound")]});
        let filter = json!({"type": "and", "predicates": [voice],
            "clauses": [small, {"type": "or", "predicates": queue_list(9_000)}]});
        let planned = q.plan(filter).unwrap();
        assert_eq!(planned.requests().len(), 2);
        let mut seen = 0;
        for request in planned.requests() {
            let sent: Value = serde_json::from_str(request.json().get()).unwrap();
            assert_eq!(sent["type"], "and");
            assert_eq!(sent["predicates"], json!([voice]));
            assert_eq!(sent["clauses"][0], small);
            seen += values_of(request, &Place::Clause(1)).len();
        }
        assert_eq!(seen, 9_000);
    }

    /// A filter that fits in bytes but not in predicates is split by count: 250 queues at
    /// 100 a request are 3 requests; in an `and` filter the predicates kept whole in
    /// every request count against each share.
    #[test]
    fn a_filter_over_the_predicate_cap_is_split_by_count() {
        let mut q = Query::new(&["queueId"]);
        q.max_predicates = 100;
        let planned = q
            .plan(json!({"type": "or", "predicates": queue_list(250)}))
            .unwrap();
        let shares: Vec<usize> = planned
            .requests()
            .iter()
            .map(|r| values_of(r, &Place::Top).len())
            .collect();
        assert_eq!(shares, vec![100, 100, 50]);
        assert_eq!(planned.split_on(), Some("queueId"));
        let exactly = q
            .plan(json!({"type": "or", "predicates": queue_list(100)}))
            .unwrap();
        assert_eq!(exactly.requests().len(), 1);

        let voice = matches("mediaType", "voice");
        let inbound = json!({"type": "or", "predicates": [matches("direction", "inbound")]});
        let filter = |n| {
            json!({"type": "and", "predicates": [voice],
                "clauses": [inbound, {"type": "or", "predicates": queue_list(n)}]})
        };
        let planned = q.plan(filter(250)).unwrap();
        let shares: Vec<usize> = planned
            .requests()
            .iter()
            .map(|r| values_of(r, &Place::Clause(1)).len())
            .collect();
        assert_eq!(shares, vec![98, 98, 54]);
        for request in planned.requests() {
            let sent: Value = serde_json::from_str(request.json().get()).unwrap();
            assert!(predicate_count(&sent) <= 100);
        }
        q.max_predicates = 2;
        let e = refusal(&q, filter(250));
        assert!(
            e.message.contains("has 252 predicates, over the 2")
                && e.message
                    .contains("the rest of the filter has 2 predicates"),
            "{}",
            e.message
        );
    }

    fn refusal(q: &Query, filter: Value) -> FilterError {
        match q.plan(filter) {
            Ok(planned) => panic!("accepted in {} requests", planned.requests().len()),
            Err(e) => e,
        }
    }

    #[test]
    fn filters_that_cannot_be_split_exactly_are_refused_with_the_reason() {
        let big = || queue_list(8_000);
        // The dimension is not grouped by.
        let e = refusal(
            &Query::new(&["mediaType"]),
            json!({"type": "or", "predicates": big()}),
        );
        assert_eq!(e.field, "filter.predicates");
        assert!(
            e.message.contains("over the 512000 Genesys takes"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("queueId is not in group_by, so the answers of split requests could not be merged exactly"),
            "{}",
            e.message
        );
        assert!(
            e.message.contains("add queueId to group_by"),
            "{}",
            e.message
        );

        // Two dimensions mixed in the list.
        let q = Query::new(&["queueId", "mediaType"]);
        let mut mixed = big();
        mixed.insert(3, matches("mediaType", "voice"));
        let e = refusal(&q, json!({"type": "or", "predicates": mixed}));
        assert_eq!(e.field, "filter.predicates[3]");
        assert!(
            e.message
                .contains("on mediaType while the first is on queueId"),
            "{}",
            e.message
        );

        // Another operator.
        let mut other = big();
        other[5] = json!({"type": "dimension", "dimension": "queueId", "operator": "notExists"});
        let e = refusal(&q, json!({"type": "or", "predicates": other}));
        assert_eq!(e.field, "filter.predicates[5]");
        assert!(
            e.message.contains("\"notExists\", not `matches`"),
            "{}",
            e.message
        );

        // An `or` filter with clauses.
        let e = refusal(
            &q,
            json!({"type": "or", "predicates": big(),
                "clauses": [{"type": "and", "predicates": [matches("mediaType", "voice")]}]}),
        );
        assert_eq!(e.field, "filter.clauses");

        // An `and` of many predicates: no alternatives at all.
        let e = refusal(&q, json!({"type": "and", "predicates": big()}));
        assert_eq!(e.field, "filter");
        assert!(e.message.contains("no `or` clause"), "{}", e.message);

        // The part kept in every request is itself too large.
        let e = refusal(
            &q,
            json!({"type": "and", "predicates": big(),
                "clauses": [{"type": "or", "predicates": [matches("queueId", "x")]}]}),
        );
        assert_eq!(e.field, "filter.clauses[0].predicates");
        assert!(e.message.contains("no room for even one"), "{}", e.message);
    }
}
