//! The rules a config's values must keep, checked on the file as written so that each
//! message can quote the value back and name the query and the field.

use std::collections::HashMap;
use std::time::Duration;

use chrono_tz::Tz;

use super::diagnostics::{closest_zone, query_label};
use super::filter::{self, DEFAULT_MAX_PREDICATES, FilterError, RequestShape, check_clause};
use super::{
    Config, ConfigError, DEFAULT_SETTLE_DELAY, MAX_PREDICATES_PER_REQUEST, MAX_SETTLE_DELAY,
    MIN_REFRESH, ObservationSet, Period, QueryConfig, RawConfig, RawQuery, TrunkSetConfig,
    check_channel_limit, is_valid_name, names, validate_voice_sets,
};
use crate::conventions::{RESERVED_LABELS, snake_case};
use crate::genesys::names::DIMENSIONS as NAMED_DIMENSIONS;
use crate::genesys::sources::{self, Source};
use crate::interval::Granularity;

/// A rule broken inside one query: the field (with any index) and the message.
pub(super) struct FieldError {
    pub(super) field: String,
    pub(super) message: String,
}

impl From<FilterError> for FieldError {
    fn from(error: FilterError) -> FieldError {
        FieldError {
            field: error.field,
            message: error.message,
        }
    }
}

impl FieldError {
    pub(super) fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl RawConfig {
    pub(super) fn validate(self, origin: &str) -> Result<Config, ConfigError> {
        let invalid = |query: Option<String>, field: &str, message: String| ConfigError::Invalid {
            origin: origin.into(),
            query,
            field: Some(field.into()),
            message,
        };
        let raw_observations = self.observations.unwrap_or_default();
        let raw_trunks = self.trunks.unwrap_or_default();
        let raw_voice = self.voice_quality.unwrap_or_default();
        let raw_queries = match self.queries {
            None if !raw_observations.is_empty()
                || !raw_trunks.is_empty()
                || !raw_voice.is_empty() =>
            {
                Some(Vec::new())
            }
            queries => queries,
        };
        let Some(raw_queries) = raw_queries else {
            return Err(invalid(
                None,
                "queries",
                "missing; expected a list of queries, each with at least name, granularity \
                    and metrics"
                    .into(),
            ));
        };
        if raw_queries.is_empty()
            && raw_observations.is_empty()
            && raw_trunks.is_empty()
            && raw_voice.is_empty()
        {
            return Err(invalid(
                None,
                "queries",
                "is empty; expected at least one query with name, granularity and metrics".into(),
            ));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut queries = Vec::with_capacity(raw_queries.len());
        for (index, raw) in raw_queries.into_iter().enumerate() {
            let label = query_label(index, raw.name.as_deref());
            if let Some(name) = raw.name.as_deref() {
                if let Some(first) = seen.get(name) {
                    return Err(invalid(
                        Some(format!("queries[{index}]")),
                        "name",
                        format!(
                            "{name:?} is already the name of queries[{first}]; names must be \
                             unique because they become the `query` label"
                        ),
                    ));
                }
                seen.insert(name.to_string(), index);
            }
            let query = raw
                .validate()
                .map_err(|e| invalid(Some(label), &e.field, e.message))?;
            queries.push(query);
        }
        let mut observations = Vec::with_capacity(raw_observations.len());
        let mut agents = Vec::new();
        // Every set's name by its index, either kind.
        let mut set_names: Vec<Option<String>> = Vec::with_capacity(raw_observations.len());
        for (index, raw) in raw_observations.into_iter().enumerate() {
            let label = match raw.name.as_deref() {
                Some(name) if is_valid_name(name) => format!("observation {name:?}"),
                _ => format!("observations[{index}]"),
            };
            if let Some(name) = raw.name.as_deref()
                && let Some(first) = first_use(name, &seen, &set_names, &[])
            {
                return Err(invalid(
                    Some(format!("observations[{index}]")),
                    "name",
                    format!(
                        "{name:?} is already the name of {first}; names must be unique \
                         across queries and observations because they become the \
                         `query` label"
                    ),
                ));
            }
            set_names.push(raw.name.clone());
            match raw
                .validate()
                .map_err(|e| invalid(Some(label), &e.field, e.message))?
            {
                ObservationSet::Queues(set) => observations.push(set),
                ObservationSet::Agents(set) => agents.push(set),
            }
        }
        if let Err(message) = check_channel_limit(&observations, &agents) {
            return Err(invalid(Some("observations".into()), "transport", message));
        }
        // Trunk sets: names unique across every kind, as the `query` label.
        let mut trunks = Vec::with_capacity(raw_trunks.len());
        for (index, raw) in raw_trunks.into_iter().enumerate() {
            let label = match raw.name.as_deref() {
                Some(name) if is_valid_name(name) => format!("trunk set {name:?}"),
                _ => format!("trunks[{index}]"),
            };
            if let Some(name) = raw.name.as_deref()
                && let Some(first) = first_use(name, &seen, &set_names, &trunks)
            {
                return Err(invalid(
                    Some(format!("trunks[{index}]")),
                    "name",
                    format!(
                        "{name:?} is already the name of {first}; names must be unique \
                         across the file because they become the `query` label"
                    ),
                ));
            }
            trunks.push(
                raw.validate()
                    .map_err(|e| invalid(Some(label), &e.field, e.message))?,
            );
        }
        let voice_quality = validate_voice_sets(raw_voice, origin, |name| {
            first_use(name, &seen, &set_names, &trunks)
        })?;
        Ok(Config {
            queries,
            observations,
            agents,
            trunks,
            voice_quality,
        })
    }
}

/// Where `name` is already used: `queries[i]` (`queries`: name to index),
/// `observations[i]` (`sets`: the names by index) or `trunks[i]`.
fn first_use(
    name: &str,
    queries: &HashMap<String, usize>,
    sets: &[Option<String>],
    trunks: &[TrunkSetConfig],
) -> Option<String> {
    queries
        .get(name)
        .map(|first| format!("queries[{first}]"))
        .or_else(|| {
            sets.iter()
                .position(|n| n.as_deref() == Some(name))
                .map(|first| format!("observations[{first}]"))
        })
        .or_else(|| {
            trunks
                .iter()
                .position(|t| t.name == name)
                .map(|first| format!("trunks[{first}]"))
        })
}

impl RawQuery {
    fn validate(self) -> Result<QueryConfig, FieldError> {
        let name = check_name(self.name, "query")?;
        let source = match self.source.as_deref() {
            None => sources::CONVERSATIONS,
            Some(text) => names::check_source(text).map_err(|m| FieldError::new("source", m))?,
        };
        let granularity = match self.granularity {
            None => {
                return Err(FieldError::new(
                    "granularity",
                    "missing; expected an ISO-8601 bucket size such as PT15M, PT30M, PT1H \
                     or P1D",
                ));
            }
            Some(text) => Granularity::parse(&text)
                .map_err(|e| FieldError::new("granularity", e.to_string()))?,
        };
        let time_zone = match self.time_zone {
            None => Tz::UTC,
            Some(text) => parse_time_zone(&text).map_err(|m| FieldError::new("time_zone", m))?,
        };
        let settle_delay = match self.settle_delay {
            None => DEFAULT_SETTLE_DELAY,
            Some(text) => check_settle_delay(&text)?,
        };
        let refresh = match self.refresh {
            None => None,
            Some(text) => Some(check_refresh(&text, "5m")?),
        };
        let allow_unlisted = self.allow_unlisted.unwrap_or_default();
        check_allow_unlisted(&allow_unlisted)?;
        let max_predicates_per_request = match self.max_predicates_per_request {
            None => DEFAULT_MAX_PREDICATES,
            Some(n) if (1..=MAX_PREDICATES_PER_REQUEST as u64).contains(&n) => n as usize,
            Some(n) => {
                return Err(FieldError::new(
                    "max_predicates_per_request",
                    format!(
                        "{n} is out of range; expected 1 to {MAX_PREDICATES_PER_REQUEST} \
                         (default {DEFAULT_MAX_PREDICATES}): the most predicates one request \
                         carries before the filter is split over several"
                    ),
                ));
            }
        };
        let group_by = self.group_by.unwrap_or_default();
        check_group_by(source, &group_by, &allow_unlisted)?;
        let Some(metrics) = self.metrics else {
            return Err(FieldError::new(
                "metrics",
                "missing; expected a list of Genesys metric names such as \
                 [nOffered, tHandle, oServiceLevel]",
            ));
        };
        check_metrics(source, &metrics, &allow_unlisted)?;
        let filter = match self.filter {
            None => None,
            Some(filter) => {
                check_clause(source, &filter, "filter", true, &allow_unlisted)?;
                let max_predicates = capped(source, &filter, max_predicates_per_request);
                let shape = RequestShape {
                    granularity: &granularity.to_string(),
                    time_zone: time_zone.name(),
                    group_by: &group_by,
                    metrics: &metrics,
                    max_predicates,
                };
                let planned = filter::plan(filter, shape).map_err(|mut e| {
                    if max_predicates < max_predicates_per_request {
                        e.message.push_str(&format!(
                            " (the {} source takes at most {max_predicates} predicates a \
                             request on {})",
                            source.segment,
                            source
                                .predicate_caps
                                .iter()
                                .map(|(d, _)| *d)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                    e
                })?;
                Some(planned)
            }
        };
        let period = match self.period.as_deref() {
            None | Some("completed") => Period::Completed,
            Some("current") => Period::Current,
            Some(other) => {
                return Err(FieldError::new(
                    "period",
                    format!("{other:?} is neither `completed` (the default) nor `current`"),
                ));
            }
        };
        if period == Period::Current && refresh.is_none() {
            return Err(FieldError::new(
                "refresh",
                "missing; `period: current` polls the interval in progress every `refresh` \
                 (at least 10s), e.g. refresh: 1m",
            ));
        }
        Ok(QueryConfig {
            period,
            name,
            source,
            granularity,
            time_zone,
            settle_delay,
            refresh,
            group_by,
            metrics,
            filter,
            max_predicates_per_request,
            allow_unlisted,
        })
    }
}

/// `^[a-z][A-Za-z0-9]*$`: how Genesys spells dimension names.
fn is_dimension_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_alphanumeric())
}

/// `^[nto][A-Z][A-Za-z0-9]*$`: how Genesys spells metric names (counts, timers,
/// observations); the first letter decides how the exporter maps the stats.
fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| matches!(c, 'n' | 't' | 'o'))
        && chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

/// The most predicates one request of a query over `source` may carry: the query's
/// `max_predicates_per_request`, lowered to the source's cap on any dimension the filter
/// uses (users: at most 100 `userId` predicates a request).
fn capped(source: &Source, filter: &serde_json::Value, configured: usize) -> usize {
    source
        .predicate_caps
        .iter()
        .filter(|(dimension, _)| filter::uses_dimension(filter, dimension))
        .map(|(_, cap)| *cap)
        .fold(configured, usize::min)
}

/// Why the exporter adds `label` itself to a query grouping by `group_by`, if it does: the
/// labels of every series always, a name label when the query groups by the id it names
/// (a flows query may group by `flowName` unless it also groups by `flowId`).
fn added_label(label: &str, group_by: &[String]) -> Option<String> {
    match NAMED_DIMENSIONS.iter().find(|d| d.label == label) {
        Some(named) => group_by
            .iter()
            .any(|g| g == named.group_by)
            .then(|| format!("beside `{}`", snake_case(named.group_by))),
        None => RESERVED_LABELS
            .contains(&label)
            .then(|| "on every series".to_string()),
    }
}

fn check_group_by(
    source: &Source,
    group_by: &[String],
    allowed: &[String],
) -> Result<(), FieldError> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, dimension) in group_by.iter().enumerate() {
        let field = format!("group_by[{i}]");
        if !is_dimension_name(dimension) {
            return Err(FieldError::new(
                field,
                format!(
                    "{dimension:?} is not a Genesys dimension name; expected camelCase \
                     letters and digits starting with a lowercase letter, such as queueId, \
                     mediaType or direction"
                ),
            ));
        }
        let label = snake_case(dimension);
        if let Some(reason) = added_label(&label, group_by) {
            return Err(FieldError::new(
                field,
                format!(
                    "{dimension:?} would become the label `{label}`, which the exporter adds \
                     itself {reason} (reserved: {})",
                    RESERVED_LABELS.join(", ")
                ),
            ));
        }
        names::check_dimension(source, dimension, allowed)
            .map_err(|m| FieldError::new(&field, m))?;
        if let Some(first) = seen.get(&label) {
            let other = &group_by[*first];
            let message = if other == dimension {
                format!("{dimension:?} is listed twice (also group_by[{first}])")
            } else {
                format!(
                    "{dimension:?} and group_by[{first}] {other:?} would both become the \
                     label `{label}`"
                )
            };
            return Err(FieldError::new(field, message));
        }
        seen.insert(label, i);
    }
    Ok(())
}

fn check_metrics(
    source: &Source,
    metrics: &[String],
    allowed: &[String],
) -> Result<(), FieldError> {
    if metrics.is_empty() {
        return Err(FieldError::new(
            "metrics",
            "is empty; expected at least one Genesys metric name such as nOffered, tHandle \
             or oServiceLevel",
        ));
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, metric) in metrics.iter().enumerate() {
        let field = format!("metrics[{i}]");
        if !is_metric_name(metric) {
            return Err(FieldError::new(
                field,
                format!(
                    "{metric:?} is not a Genesys metric name; expected n (count), t (timer) \
                     or o (observation) followed by a capital letter, such as nOffered, \
                     tHandle or oServiceLevel"
                ),
            ));
        }
        names::check_metric(source, metric, allowed).map_err(|m| FieldError::new(&field, m))?;
        let snake = snake_case(metric);
        if let Some(first) = seen.get(&snake) {
            let other = &metrics[*first];
            let message = if other == metric {
                format!("{metric:?} is listed twice (also metrics[{first}])")
            } else {
                format!(
                    "{metric:?} and metrics[{first}] {other:?} would both become the metric \
                     name part `{snake}`"
                )
            };
            return Err(FieldError::new(field, message));
        }
        seen.insert(snake, i);
    }
    Ok(())
}

/// The `name` of a query or observation set (`what`): present and valid.
pub(super) fn check_name(name: Option<String>, what: &str) -> Result<String, FieldError> {
    match name {
        None => Err(FieldError::new(
            "name",
            format!(
                "missing; every {what} needs a unique name made of letters, digits and \
                 `_.:-` (it becomes the `query` label)"
            ),
        )),
        Some(name) if !is_valid_name(&name) => Err(FieldError::new(
            "name",
            format!(
                "{name:?} is not a valid name; use one or more letters, digits, `_`, \
                 `.`, `:` or `-` (it becomes the `query` label)"
            ),
        )),
        Some(name) => Ok(name),
    }
}

/// A `settle_delay`: a duration of at most [`MAX_SETTLE_DELAY`].
pub(super) fn check_settle_delay(text: &str) -> Result<Duration, FieldError> {
    let d = parse_duration(text, "90s").map_err(|m| FieldError::new("settle_delay", m))?;
    if d > MAX_SETTLE_DELAY {
        return Err(FieldError::new(
            "settle_delay",
            format!(
                "{text:?} is longer than the 1h maximum; a few minutes lets Genesys post \
                 late data, and `refresh` re-reads the bucket later"
            ),
        ));
    }
    Ok(d)
}

/// A `refresh` period: a duration of at least [`MIN_REFRESH`].
pub(super) fn check_refresh(text: &str, example: &str) -> Result<Duration, FieldError> {
    let d = parse_duration(text, example).map_err(|m| FieldError::new("refresh", m))?;
    if d < MIN_REFRESH {
        return Err(FieldError::new(
            "refresh",
            format!(
                "{text:?} is shorter than the 10s minimum, which keeps the exporter well \
                 under the API rate limit"
            ),
        ));
    }
    Ok(d)
}

/// `allow_unlisted`: names spelt as Genesys spells metrics or dimensions, each once.
fn check_allow_unlisted(allowed: &[String]) -> Result<(), FieldError> {
    for (i, name) in allowed.iter().enumerate() {
        let field = format!("allow_unlisted[{i}]");
        if !is_metric_name(name) && !is_dimension_name(name) {
            return Err(FieldError::new(
                field,
                format!(
                    "{name:?} is not spelt like a Genesys metric (nOffered) or dimension \
                     (queueId) name"
                ),
            ));
        }
        if let Some(first) = allowed[..i].iter().position(|a| a == name) {
            return Err(FieldError::new(
                field,
                format!("{name:?} is listed twice (also allow_unlisted[{first}])"),
            ));
        }
    }
    Ok(())
}

/// A humantime duration such as `90s`, `2m` or `1m 30s`.
pub(super) fn parse_duration(text: &str, example: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!(
            "{text:?} is not a duration ({e}); expected a number with a unit, such as {example:?}"
        )
    })
}

/// An IANA zone name, with a suggestion when it looks like a typo.
pub(super) fn parse_time_zone(text: &str) -> Result<Tz, String> {
    if let Ok(tz) = text.trim().parse::<Tz>() {
        return Ok(tz);
    }
    let hint = match closest_zone(text.trim()) {
        Some(name) => format!(" (did you mean {name:?}?)"),
        None => String::new(),
    };
    Err(format!(
        "{text:?} is not an IANA time zone{hint}; expected a tz database name such as \
         \"UTC\", \"Europe/London\" or \"America/New_York\""
    ))
}

/// Ids of `what` (queues, teams, divisions) are UUIDs (`8-4-4-4-12` hex digits);
/// duplicates are dropped.
pub(super) fn check_ids(
    ids: Vec<String>,
    field: &str,
    what: &str,
) -> Result<Vec<String>, FieldError> {
    if ids.is_empty() {
        let way_out = if field == "queues" {
            ", or `all` for every queue"
        } else {
            ", or leave the key out"
        };
        return Err(FieldError::new(
            field,
            format!("is an empty list; give {what} ids{way_out}"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for (i, id) in ids.into_iter().enumerate() {
        if !is_uuid(&id) {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                format!(
                    "{id:?} is not a {what} id; Genesys {what} ids are UUIDs such as \
                     0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69 (the {what}'s page in the admin UI \
                     shows it)"
                ),
            ));
        }
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

pub(super) fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit()))
}
