//! The YAML query config: which aggregate queries to run, and its validation.
//!
//! Each query becomes one `POST /api/v2/analytics/conversations/aggregates/query` per
//! completed bucket. Everything that can be checked without talking to Genesys is checked
//! here, when the file is loaded, so that a typo stops the exporter at start-up with a
//! message naming the file, the query and the field, instead of surfacing hours later as a
//! 400 from the API or as a silently missing series.
//!
//! ```yaml
//! queries:
//!   - name: queues              # unique; becomes the `query` label
//!     granularity: PT30M        # PT5M..P1D, ISO-8601
//!     time_zone: UTC            # IANA; aligns P1D buckets to local midnight, DST-correct
//!     settle_delay: 90s         # wait after an interval ends before querying it (humantime)
//!     refresh: 5m               # optional: re-query the latest completed interval this often
//!     group_by: [queueId, mediaType, direction]
//!     metrics: [nOffered, nConnected, tHandle, oServiceLevel]
//!     filter: {type: and, predicates: [{type: dimension, dimension: mediaType, value: voice}]}
//! ```

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

mod observations;

use observations::RawObservation;
pub use observations::{
    DEFAULT_MEDIA_TYPES, DEFAULT_OBSERVATION_REFRESH, DETAIL_METRICS, MAX_QUEUES_PER_REQUEST,
    MEDIA_TYPES, ObservationConfig, QueueSelection,
};

use crate::filter::{QueryFilter, RequestShape};
use crate::genesys::catalog;
use crate::genesys::types::AggregateQuery;
use crate::interval::{Granularity, Interval};

/// Labels the exporter adds itself (`qualifier` when Genesys sends one with a metric); a
/// `group_by` dimension whose label would have the same name would clash with them and
/// make a series with a repeated label, which Prometheus refuses.
pub const RESERVED_LABELS: [&str; 4] = ["query", "interval", "queue_name", "qualifier"];

/// Default wait after a bucket ends before it is queried: Genesys posts timers to the bucket
/// in which the measured thing ended, and needs a little while to do so.
pub const DEFAULT_SETTLE_DELAY: Duration = Duration::from_secs(90);
/// Longest allowed settle delay. Longer waits leave the exported data needlessly stale; data
/// that changes later (the nightly pipeline revises up to 48 h back) is what `refresh` is for.
pub const MAX_SETTLE_DELAY: Duration = Duration::from_secs(3600);
/// Shortest allowed refresh period, to keep well under the API's rate limit (300 requests
/// a minute per token, possibly shared with other tools).
pub const MIN_REFRESH: Duration = Duration::from_secs(10);
/// Largest config file read. A config is a few KiB; the cap keeps a mistaken path such as
/// `/dev/zero` from exhausting memory.
const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

/// The whole config file: the aggregate queries and the queue observation sets to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The queries, in file order; names unique across queries and observations.
    pub queries: Vec<QueryConfig>,
    /// The queue observation sets, in file order. Queries and observations together
    /// are at least one entry.
    pub observations: Vec<ObservationConfig>,
}

/// One aggregate query, validated: every field is already in the form the exporter uses.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryConfig {
    /// Unique name, made of `[A-Za-z0-9_.:-]`; the value of the `query` label, so that
    /// series from different queries never collide.
    pub name: String,
    /// Bucket size; the exporter queries one completed bucket at a time.
    pub granularity: Granularity,
    /// Zone in which buckets are aligned (sent to Genesys as `timeZone`). Default UTC.
    pub time_zone: Tz,
    /// Wait after a bucket ends before querying it. Default 90 s, at most 1 h.
    pub settle_delay: Duration,
    /// If set, re-query the latest completed bucket this often (at least 10 s) to pick up
    /// late-posted data; if not, each bucket is queried once.
    pub refresh: Option<Duration>,
    /// Genesys dimension names (camelCase) to group by; each becomes a snake_case label.
    pub group_by: Vec<String>,
    /// Genesys metric names (`n…` counts, `t…` timers, `o…` observations); at least one.
    pub metrics: Vec<String>,
    /// Passed through to Genesys as the query's `filter` JSON; split over several
    /// requests when too large for one (see [`crate::filter`]).
    pub filter: Option<QueryFilter>,
}

impl QueryConfig {
    /// The aggregates requests of one poll of `interval`: one, or one per share of a
    /// split filter. Their answers' `results` together are the answer to the query.
    pub fn requests(&self, interval: &Interval) -> Vec<AggregateQuery<'_>> {
        let request = |filter| AggregateQuery {
            interval: interval.to_iso8601(),
            granularity: self.granularity.to_string(),
            time_zone: self.time_zone.name(),
            group_by: &self.group_by,
            metrics: &self.metrics,
            filter,
        };
        match &self.filter {
            None => vec![request(None)],
            Some(filter) => filter
                .requests()
                .iter()
                .map(|r| request(Some(r.json())))
                .collect(),
        }
    }
}

/// Why a config could not be loaded. Each message is one line that names the file and,
/// where it applies, the line and column, the query (by name, or by position such as
/// `queries[2]` when the name is missing or unusable) and the field, and says what was
/// expected, so that the user can fix the file without reading the source.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read config file {origin}: {source}")]
    Read {
        /// The path as given.
        origin: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than any sensible config.
    #[error(
        "config file {origin} is larger than {limit} bytes; a query config is a few KiB, is this the right file?"
    )]
    TooLarge {
        /// The path as given.
        origin: String,
        /// The size limit in bytes.
        limit: u64,
    },
    /// The text is not YAML, or not of the expected shape: an unknown key, a value of the
    /// wrong type, a duplicate key.
    #[error("{}", render(origin, *location, query.as_deref(), field.as_deref(), message))]
    Syntax {
        /// File name used in messages.
        origin: String,
        /// 1-based line and column, when the YAML parser knows them.
        location: Option<(usize, usize)>,
        /// The query concerned, as `query "name"` or `queries[N]`, if any.
        query: Option<String>,
        /// The field concerned, if any.
        field: Option<String>,
        /// What is wrong and what was expected.
        message: String,
    },
    /// Well-formed YAML whose values break a rule: a bad granularity, an unknown time zone,
    /// a duplicate name, a metric name that is not a metric, ...
    #[error("{}", render(origin, None, query.as_deref(), field.as_deref(), message))]
    Invalid {
        /// File name used in messages.
        origin: String,
        /// The query concerned, as `query "name"` or `queries[N]`, if any.
        query: Option<String>,
        /// The field concerned, if any.
        field: Option<String>,
        /// What is wrong and what was expected.
        message: String,
    },
}

/// `file:line:column: query "q": field `f`: message`, leaving out what is unknown.
fn render(
    origin: &str,
    location: Option<(usize, usize)>,
    query: Option<&str>,
    field: Option<&str>,
    message: &str,
) -> String {
    let mut out = origin.to_string();
    if let Some((line, column)) = location {
        out.push_str(&format!(":{line}:{column}"));
    }
    out.push_str(": ");
    if let Some(query) = query {
        out.push_str(query);
        out.push_str(": ");
    }
    if let Some(field) = field {
        out.push_str(&format!("field `{field}`: "));
    }
    out.push_str(message);
    // Messages are single lines: a stray newline from a parser, or one inside a key the
    // user wrote (a YAML key may span lines), must not break that.
    out.replace(['\n', '\r'], " ")
}

impl Config {
    /// Reads, parses and validates the config file at `path`. Errors name the file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let read_error = |source| ConfigError::Read {
            origin: origin.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(read_error)?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(read_error)?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(ConfigError::TooLarge {
                origin,
                limit: MAX_FILE_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|e| {
            read_error(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("not UTF-8 text ({e})"),
            ))
        })?;
        Config::from_yaml(&text, &origin)
    }

    /// Parses and validates config text. `origin` is the file name to use in messages.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Config, ConfigError> {
        // An empty document (or one with only comments) deserves its own message.
        if let Ok(serde_yaml_ng::Value::Null) = serde_yaml_ng::from_str(text) {
            return Err(ConfigError::Invalid {
                origin: origin.into(),
                query: None,
                field: None,
                message: "the file is empty; expected a mapping with a `queries` list, e.g. \
                    queries: [{name: queues, granularity: PT30M, metrics: [nOffered]}]"
                    .into(),
            });
        }
        // The query names alone, read leniently, so that an error inside a query can name
        // the query even when the rest of it is broken.
        let names: Vec<Option<String>> = serde_yaml_ng::from_str::<NamesOnly>(text)
            .ok()
            .and_then(|n| n.queries)
            .map(|queries| queries.into_iter().map(NameOnly::into_name).collect())
            .unwrap_or_default();
        // Then typed, with YAML errors, unknown keys and wrong types reported at their line
        // and column.
        let raw: RawConfig =
            serde_yaml_ng::from_str(text).map_err(|e| syntax_error(origin, &e, &names))?;
        raw.validate(origin)
    }

    /// The config used when no `--config.file` is given: one query named `queues` with the
    /// usual per-queue contact-centre KPIs in 30-minute buckets, without a filter. A useful
    /// start for most organisations, and the example in the documentation.
    pub fn builtin_default() -> Config {
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Config {
            queries: vec![QueryConfig {
                name: "queues".into(),
                granularity: Granularity::Minutes(30),
                time_zone: Tz::UTC,
                settle_delay: DEFAULT_SETTLE_DELAY,
                refresh: Some(Duration::from_secs(300)),
                group_by: strings(&["queueId", "mediaType", "direction"]),
                metrics: strings(&[
                    "nOffered",
                    "nConnected",
                    "nTransferred",
                    "nOverSla",
                    "tHandle",
                    "tTalk",
                    "tHeld",
                    "tAcw",
                    "tAnswered",
                    "tWait",
                    "tAbandon",
                    "tShortAbandon",
                    "oServiceLevel",
                ]),
                filter: None,
            }],
            observations: Vec::new(),
        }
    }

    /// The built-in query and `live`, every queue's observations: what the exporter runs
    /// against a real org without `--config.file`.
    pub fn builtin_with_live() -> Config {
        let mut config = Config::builtin_default();
        config.observations.push(ObservationConfig::builtin_live());
        config
    }

    /// The config as YAML that [`Config::from_yaml`] reads back to an equal config: for
    /// showing the effective config (for instance the built-in default) to a user.
    pub fn to_yaml(&self) -> Result<String, serde_yaml_ng::Error> {
        let out = OutConfig {
            queries: self
                .queries
                .iter()
                .map(|q| OutQuery {
                    name: &q.name,
                    granularity: q.granularity.as_iso8601(),
                    time_zone: q.time_zone.name(),
                    settle_delay: humantime::format_duration(q.settle_delay).to_string(),
                    refresh: q.refresh.map(|r| humantime::format_duration(r).to_string()),
                    group_by: &q.group_by,
                    metrics: &q.metrics,
                    filter: q.filter.as_ref().map(QueryFilter::written),
                })
                .collect(),
            observations: self
                .observations
                .iter()
                .map(ObservationConfig::written)
                .collect(),
        };
        serde_yaml_ng::to_string(&out)
    }
}

/// Converts a Genesys camelCase name into the snake_case used for Prometheus labels and
/// metric names: `queueId` -> `queue_id`, `nOverSla` -> `n_over_sla`,
/// `tAgentResponseTime` -> `t_agent_response_time`.
///
/// A run of capitals is one word (`queueID` -> `queue_id`, `SLAValue` -> `sla_value`), so
/// two spellings of one name map to the same label; the config rejects such pairs.
pub fn snake_case(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let previous = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            let starts_word = match previous {
                None => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                Some(_) => false,
            };
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// The file as written. Values stay close to the text here (durations and zones as strings)
// so that validation can quote them back in messages.

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with a `queries` list (and optionally `observations`) at the top level"
)]
struct RawConfig {
    #[serde(default)]
    queries: Option<Vec<RawQuery>>,
    #[serde(default)]
    observations: Option<Vec<RawObservation>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a query: a mapping with keys name, granularity, time_zone, settle_delay, \
        refresh, group_by, metrics, filter"
)]
struct RawQuery {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    granularity: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    settle_delay: Option<String>,
    #[serde(default)]
    refresh: Option<String>,
    #[serde(default)]
    group_by: Option<Vec<String>>,
    #[serde(default)]
    metrics: Option<Vec<String>>,
    #[serde(default)]
    filter: Option<serde_json::Value>,
}

/// Just the query names, from a file that may be broken elsewhere.
#[derive(Deserialize)]
struct NamesOnly {
    #[serde(default)]
    queries: Option<Vec<NameOnly>>,
}

/// The `name` of one query if it is a plain string given once; anything else in the
/// item, whatever its shape, is skipped without error.
struct NameOnly(Option<String>);

impl NameOnly {
    fn into_name(self) -> Option<String> {
        self.0
    }
}

impl<'de> Deserialize<'de> for NameOnly {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NameOnlyVisitor)
    }
}

struct NameOnlyVisitor;

impl<'de> serde::de::Visitor<'de> for NameOnlyVisitor {
    type Value = NameOnly;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("anything")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NameOnly, A::Error> {
        let mut name = None;
        let mut count = 0;
        while let Some(key) = map.next_key::<serde_yaml_ng::Value>()? {
            if key.as_str() == Some("name") {
                count += 1;
                name = map
                    .next_value::<serde_yaml_ng::Value>()?
                    .as_str()
                    .map(str::to_string);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(NameOnly(if count == 1 { name } else { None }))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NameOnly, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(NameOnly(None))
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<NameOnly, A::Error> {
        use serde::de::VariantAccess;
        let (_, variant) = data.variant::<serde::de::IgnoredAny>()?;
        variant.newtype_variant::<serde::de::IgnoredAny>()?;
        Ok(NameOnly(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_unit<E>(self) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_none<E>(self) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }
}

#[derive(Serialize)]
struct OutConfig<'a> {
    queries: Vec<OutQuery<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    observations: Vec<observations::OutObservation<'a>>,
}

#[derive(Serialize)]
struct OutQuery<'a> {
    name: &'a str,
    granularity: String,
    time_zone: &'a str,
    settle_delay: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
    group_by: &'a [String],
    metrics: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<&'a serde_json::Value>,
}

/// A rule broken inside one query: the field (with any index) and the message.
struct FieldError {
    field: String,
    message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// How messages name a query: by name when it has a usable one, else by position.
fn query_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) if is_valid_name(name) => format!("query {name:?}"),
        _ => format!("queries[{index}]"),
    }
}

impl RawConfig {
    fn validate(self, origin: &str) -> Result<Config, ConfigError> {
        let invalid = |query: Option<String>, field: &str, message: String| ConfigError::Invalid {
            origin: origin.into(),
            query,
            field: Some(field.into()),
            message,
        };
        let raw_observations = self.observations.unwrap_or_default();
        let raw_queries = match self.queries {
            None if !raw_observations.is_empty() => Some(Vec::new()),
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
        if raw_queries.is_empty() && raw_observations.is_empty() {
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
        for (index, raw) in raw_observations.into_iter().enumerate() {
            let label = match raw.name.as_deref() {
                Some(name) if is_valid_name(name) => format!("observation {name:?}"),
                _ => format!("observations[{index}]"),
            };
            if let Some(name) = raw.name.as_deref() {
                let taken = seen
                    .get(name)
                    .map(|first| format!("queries[{first}]"))
                    .or_else(|| {
                        observations
                            .iter()
                            .position(|o: &ObservationConfig| o.name == name)
                            .map(|first| format!("observations[{first}]"))
                    });
                if let Some(first) = taken {
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
            }
            let observation = raw
                .validate()
                .map_err(|e| invalid(Some(label), &e.field, e.message))?;
            observations.push(observation);
        }
        Ok(Config {
            queries,
            observations,
        })
    }
}

impl RawQuery {
    fn validate(self) -> Result<QueryConfig, FieldError> {
        let name = check_name(self.name, "query")?;
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
            Some(text) => {
                let d =
                    parse_duration(&text, "90s").map_err(|m| FieldError::new("settle_delay", m))?;
                if d > MAX_SETTLE_DELAY {
                    return Err(FieldError::new(
                        "settle_delay",
                        format!(
                            "{text:?} is longer than the 1h maximum; a few minutes lets \
                             Genesys post late data, and `refresh` re-reads the bucket later"
                        ),
                    ));
                }
                d
            }
        };
        let refresh = match self.refresh {
            None => None,
            Some(text) => Some(check_refresh(&text, "5m")?),
        };
        let group_by = self.group_by.unwrap_or_default();
        check_group_by(&group_by)?;
        let Some(metrics) = self.metrics else {
            return Err(FieldError::new(
                "metrics",
                "missing; expected a list of Genesys metric names such as \
                 [nOffered, tHandle, oServiceLevel]",
            ));
        };
        check_metrics(&metrics)?;
        let filter = match self.filter {
            None => None,
            Some(filter) => {
                check_clause(&filter, "filter", true)?;
                let shape = RequestShape {
                    granularity: &granularity.to_string(),
                    time_zone: time_zone.name(),
                    group_by: &group_by,
                    metrics: &metrics,
                };
                let planned = crate::filter::plan(filter, shape)
                    .map_err(|e| FieldError::new(e.field, e.message))?;
                Some(planned)
            }
        };
        Ok(QueryConfig {
            name,
            granularity,
            time_zone,
            settle_delay,
            refresh,
            group_by,
            metrics,
            filter,
        })
    }
}

/// The `name` of a query or observation set (`what`): present and valid.
fn check_name(name: Option<String>, what: &str) -> Result<String, FieldError> {
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

/// A `refresh` period: a duration of at least [`MIN_REFRESH`].
fn check_refresh(text: &str, example: &str) -> Result<Duration, FieldError> {
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

/// `[A-Za-z0-9_.:-]+`: safe as a label value and in log lines, and easy to type.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
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

fn check_group_by(group_by: &[String]) -> Result<(), FieldError> {
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
        if RESERVED_LABELS.contains(&label.as_str()) {
            return Err(FieldError::new(
                field,
                format!(
                    "{dimension:?} would become the label `{label}`, which the exporter adds \
                     itself (reserved: {})",
                    RESERVED_LABELS.join(", ")
                ),
            ));
        }
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

fn check_metrics(metrics: &[String]) -> Result<(), FieldError> {
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
        if catalog::is_observation_metric(metric) {
            return Err(FieldError::new(
                field,
                format!(
                    "{metric:?} is a queue observation metric, not a conversation aggregates \
                     metric; put it in an `observations` entry (see the configuration guide)"
                ),
            ));
        }
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

/// Checks the shape Genesys requires of a filter (`top`) or of one of its clauses: the
/// rest, such as the fields of each predicate, is passed through for Genesys to judge, as
/// the API grows new predicate kinds.
fn check_clause(value: &serde_json::Value, path: &str, top: bool) -> Result<(), FieldError> {
    let Some(map) = value.as_object() else {
        return Err(FieldError::new(
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
            return Err(FieldError::new(
                format!("{path}.type"),
                "missing; expected `and` or `or`",
            ));
        }
        Some(serde_json::Value::String(t)) if t == "and" || t == "or" => {}
        Some(other) => {
            return Err(FieldError::new(
                format!("{path}.type"),
                format!("{other} is not `and` or `or`"),
            ));
        }
    }
    let predicates = map.get("predicates");
    let clauses = if top { map.get("clauses") } else { None };
    if predicates.is_none() && clauses.is_none() {
        let wanted = if top {
            "a `predicates` list, a `clauses` list, or both"
        } else {
            "a `predicates` list"
        };
        return Err(FieldError::new(
            path,
            format!("has no conditions; expected {wanted}"),
        ));
    }
    let mut conditions = 0;
    if let Some(predicates) = predicates {
        let field = format!("{path}.predicates");
        let Some(list) = predicates.as_array() else {
            return Err(FieldError::new(
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
                return Err(FieldError::new(
                    format!("{field}[{i}]"),
                    format!(
                        "found {}; expected a predicate mapping such as {{type: dimension, \
                         dimension: mediaType, value: voice}}",
                        kind(predicate)
                    ),
                ));
            }
        }
        conditions += list.len();
    }
    if let Some(clauses) = clauses {
        let field = format!("{path}.clauses");
        let Some(list) = clauses.as_array() else {
            return Err(FieldError::new(
                field,
                format!(
                    "found {}; expected a list of clauses such as [{{type: or, predicates: \
                     [...]}}]",
                    kind(clauses)
                ),
            ));
        };
        for (i, clause) in list.iter().enumerate() {
            check_clause(clause, &format!("{field}[{i}]"), false)?;
        }
        conditions += list.len();
    }
    if conditions == 0 {
        return Err(FieldError::new(
            path,
            "has empty lists; give at least one predicate or clause, or leave out the filter",
        ));
    }
    Ok(())
}

/// A humantime duration such as `90s`, `2m` or `1m 30s`.
fn parse_duration(text: &str, example: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!(
            "{text:?} is not a duration ({e}); expected a number with a unit, such as {example:?}"
        )
    })
}

/// An IANA zone name, with a suggestion when it looks like a typo.
fn parse_time_zone(text: &str) -> Result<Tz, String> {
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

/// The known zone name nearest to `text`: same letters in another case, or at most two
/// edits away. Short inputs get fewer edits (one per three characters), or every
/// two-letter zone such as "GB" would be suggested for `5` or `x`.
fn closest_zone(text: &str) -> Option<&'static str> {
    let wanted = text.to_ascii_lowercase();
    if wanted.is_empty() || wanted.len() > 64 {
        return None;
    }
    let allowed = (wanted.chars().count() / 3).min(2);
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .map(|name| (edit_distance(&wanted, &name.to_ascii_lowercase()), name))
        .filter(|&(distance, _)| distance <= allowed)
        .min_by_key(|&(distance, name)| (distance, name.len()))
        .map(|(_, name)| name)
}

/// Levenshtein distance, for typo suggestions.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Turns a YAML parser error into a message naming the file, position, query and field.
///
/// serde_yaml_ng reports where it failed as a path prefix such as `queries[2].metrics: `
/// in front of its message; that prefix is replaced by the query's name (looked up in
/// `names`, the query names read leniently) and the field.
fn syntax_error(
    origin: &str,
    error: &serde_yaml_ng::Error,
    names: &[Option<String>],
) -> ConfigError {
    let location = error.location().map(|l| (l.line(), l.column()));
    let mut message = error.to_string();
    if let Some((line, column)) = location {
        let suffix = format!(" at line {line} column {column}");
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    let mut query = None;
    let mut field = None;
    if let Some((path, rest)) = split_path(&message) {
        let (index, query_field) = parse_query_path(path);
        if let Some(index) = index {
            let name = names.get(index).and_then(Option::as_deref);
            query = Some(query_label(index, name));
            field = query_field.filter(|f| !f.is_empty()).map(str::to_string);
        } else {
            field = Some(path.to_string());
        }
        message = rest.to_string();
    }
    // Name the offending key as the field, and say "key" as a YAML user would.
    if let Some(key) = quoted_after(&message, "unknown field `", '`') {
        let allowed = message.split_once(", ").map_or("", |(_, a)| a).to_string();
        let hint = match known_key_like(&key, field.is_some() || query.is_some()) {
            Some(known) => format!(" (did you mean `{known}`?)"),
            None => String::new(),
        };
        field = Some(join_field(field.as_deref(), &key));
        message = format!("unknown key{hint}; {allowed}");
    } else if let Some(key) = quoted_after(&message, "duplicate entry with key \"", '"')
        .or_else(|| quoted_after(&message, "duplicate field `", '`'))
    {
        field = Some(join_field(field.as_deref(), &key));
        message = "appears twice in the same mapping; keep one".to_string();
    }
    message = message.replace(
        "expected a sequence",
        "expected a list ([a, b] or one `- item` per line)",
    );
    ConfigError::Syntax {
        origin: origin.into(),
        location,
        query,
        field,
        message,
    }
}

/// Keys of a query mapping, for typo hints (serde lists them in its own message).
const QUERY_KEYS: [&str; 8] = [
    "name",
    "granularity",
    "time_zone",
    "settle_delay",
    "refresh",
    "group_by",
    "metrics",
    "filter",
];

/// The known key that an unknown `key` was probably meant to be: its snake_case form
/// (`groupBy` -> `group_by`), a near miss (`querys` -> `queries`), or a shared start
/// (`query` -> `queries`, `settle` -> `settle_delay`).
fn known_key_like(key: &str, in_query: bool) -> Option<&'static str> {
    let known: &[&'static str] = if in_query {
        &QUERY_KEYS
    } else {
        &["queries", "observations"]
    };
    let snake = snake_case(key).replace('-', "_");
    let common_prefix = |k: &str| {
        snake
            .chars()
            .zip(k.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    known
        .iter()
        .map(|&k| (edit_distance(&snake, k), k))
        .filter(|&(distance, k)| distance <= 2 || common_prefix(k) >= 4)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, k)| k)
}

/// The text between `prefix` (at the start of `message`) and the next `end`.
fn quoted_after(message: &str, prefix: &str, end: char) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once(end).map(|(key, _)| key.to_string())
}

/// `filter` + `a` -> `filter.a`; no parent -> `a`.
fn join_field(parent: Option<&str>, key: &str) -> String {
    match parent {
        Some(parent) => format!("{parent}.{key}"),
        None => key.to_string(),
    }
}

/// Splits `queries[0].name: invalid type...` into the path and the rest, if the message
/// starts with a path into the config's known structure.
fn split_path(message: &str) -> Option<(&str, &str)> {
    let (path, rest) = message.split_once(": ")?;
    let known = path == "queries"
        || path.starts_with("queries[")
        || path.starts_with("queries.")
        || path.starts_with("observations");
    known.then_some((path, rest))
}

/// `queries[2].group_by[1]` -> `(Some(2), Some("group_by[1]"))`.
fn parse_query_path(path: &str) -> (Option<usize>, Option<&str>) {
    let Some(rest) = path.strip_prefix("queries[") else {
        return (None, None);
    };
    let Some((digits, after)) = rest.split_once(']') else {
        return (None, None);
    };
    let Ok(index) = digits.parse::<usize>() else {
        return (None, None);
    };
    (Some(index), after.strip_prefix('.'))
}

impl fmt::Display for QueryConfig {
    /// A one-line summary for logs: `queues (PT30M, UTC, settle 1m 30s, 13 metrics)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {}, settle {}, {} metrics",
            self.name,
            self.granularity,
            self.time_zone.name(),
            humantime::format_duration(self.settle_delay),
            self.metrics.len()
        )?;
        if let Some(refresh) = self.refresh {
            write!(f, ", refresh {}", humantime::format_duration(refresh))?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ORIGIN: &str = "test.yml";

    /// The example from the documentation.
    const EXAMPLE: &str = "\
queries:
  - name: queues              # unique; becomes the `query` label
    granularity: PT30M        # PT5M..P1D, ISO-8601
    time_zone: UTC            # IANA; aligns P1D buckets to local midnight, DST-correct
    settle_delay: 90s         # wait after an interval ends before querying it (humantime)
    refresh: 5m               # optional: re-query the latest completed interval this often
    group_by: [queueId, mediaType, direction]
    metrics: [nOffered, nConnected, nTransferred, nOverSla, tHandle, tTalk, tHeld, tAcw,
              tAnswered, tWait, tAbandon, tShortAbandon, oServiceLevel]
    filter: {type: and, predicates: [{type: dimension, dimension: mediaType, value: voice}]}
";

    fn parse(text: &str) -> Config {
        match Config::from_yaml(text, ORIGIN) {
            Ok(config) => config,
            Err(e) => panic!("{e}"),
        }
    }

    fn error(text: &str) -> ConfigError {
        match Config::from_yaml(text, ORIGIN) {
            Ok(config) => panic!("accepted: {text}\n{config:?}"),
            Err(e) => e,
        }
    }

    /// One valid query in flow style with `extra` appended to its mapping.
    fn one(extra: &str) -> String {
        format!("queries:\n  - {{name: q1, granularity: PT30M, metrics: [nOffered]{extra}}}\n")
    }

    /// The same query with `metrics` replaced.
    fn with_metrics(metrics: &str) -> String {
        format!("queries:\n  - {{name: q1, granularity: PT30M, metrics: {metrics}}}\n")
    }

    #[test]
    fn example_parses_to_the_expected_values() {
        let config = parse(EXAMPLE);
        let q = &config.queries[0];
        let filter = q.filter.as_ref();
        assert_eq!(
            filter.map(QueryFilter::written),
            Some(&json!({
                "type": "and",
                "predicates": [{"type": "dimension", "dimension": "mediaType", "value": "voice"}]
            }))
        );
        assert_eq!(filter.map(|f| f.requests().len()), Some(1));
        let mut expected = Config::builtin_default();
        expected.queries[0].filter = q.filter.clone();
        assert_eq!(config, expected);
        assert_eq!(q.name, "queues");
        assert_eq!(q.granularity, Granularity::Minutes(30));
        assert_eq!(q.time_zone, Tz::UTC);
        assert_eq!(q.settle_delay, Duration::from_secs(90));
        assert_eq!(q.refresh, Some(Duration::from_secs(300)));
        assert_eq!(q.group_by, ["queueId", "mediaType", "direction"]);
        assert_eq!(q.metrics.len(), 13);
        assert_eq!(q.metrics.last().map(String::as_str), Some("oServiceLevel"));
    }

    #[test]
    fn builtin_default_is_the_example_without_filter() {
        let without_filter: String = EXAMPLE
            .lines()
            .filter(|line| !line.trim_start().starts_with("filter:"))
            .map(|line| format!("{line}\n"))
            .collect();
        assert_eq!(parse(&without_filter), Config::builtin_default());
        let default = Config::builtin_default();
        assert_eq!(default.queries.len(), 1);
        assert_eq!(default.queries[0].filter, None);
        assert_eq!(
            default.queries[0].to_string(),
            "queues (PT30M, UTC, settle 1m 30s, 13 metrics, refresh 5m)"
        );
    }

    #[test]
    fn to_yaml_round_trips() {
        let mut configs = vec![parse(EXAMPLE), Config::builtin_default()];
        configs.push(parse(
            "queries:
  - name: daily.london
    granularity: P1D
    time_zone: Europe/London
    settle_delay: 0s
    metrics: [nOffered]
    filter:
      type: or
      clauses:
        - {type: and, predicates: [{type: dimension, dimension: queueId, value: '123'}]}
  - {name: '1.50', granularity: PT5M, metrics: [nOffered]}
  - {name: 'true', granularity: PT5M, metrics: [nOffered]}
  - {name: b, granularity: PT1H, time_zone: Asia/Kolkata, settle_delay: 1m 30s 250ms,
     refresh: 1h, metrics: [tHandle], group_by: [userId]}
",
        ));
        for config in configs {
            let text = match config.to_yaml() {
                Ok(text) => text,
                Err(e) => panic!("{e}"),
            };
            assert_eq!(parse(&text), config, "{text}");
        }
    }

    #[test]
    fn defaults_apply() {
        let config = parse(&one(""));
        let q = &config.queries[0];
        assert_eq!(q.time_zone, Tz::UTC);
        assert_eq!(q.settle_delay, DEFAULT_SETTLE_DELAY);
        assert_eq!(q.refresh, None);
        assert!(q.group_by.is_empty());
        assert_eq!(q.filter, None);
        // Explicit nulls mean "default" too.
        let nulls = parse(&one(
            ", time_zone: ~, settle_delay: ~, refresh: ~, group_by: ~, filter: ~",
        ));
        assert_eq!(nulls, config);
    }

    #[test]
    fn accepts_edge_values() {
        let cases = [
            ", settle_delay: 0s",
            ", settle_delay: 1h",
            ", settle_delay: 59m 59s",
            ", refresh: 10s",
            ", refresh: 1day",
            ", time_zone: Europe/London",
            ", time_zone: America/Argentina/Buenos_Aires",
            ", time_zone: Etc/GMT+5",
            ", group_by: []",
            ", group_by: [queueId, requestedRoutingSkillId, wrapUpCode, divisionId]",
            ", filter: {type: or, clauses: [{type: and, predicates: [{type: dimension, dimension: queueId, value: x}]}]}",
            ", filter: {type: and, predicates: [{type: dimension, dimension: mediaType, operator: matches, value: voice}], clauses: []}",
            ", filter: {type: and, predicates: [{}], somethingNew: true}",
        ];
        for extra in cases {
            let _ = parse(&one(extra));
        }
        for name in ["a", "queues.voice", "team:a-b_c", "0", "A.B:C-D_E.123"] {
            let config = parse(&format!(
                "queries: [{{name: '{name}', granularity: PT15M, metrics: [nOffered]}}]"
            ));
            assert_eq!(config.queries[0].name, name);
        }
        for (text, granularity) in [
            ("PT24H", Granularity::Day),
            ("P1D", Granularity::Day),
            ("PT60M", Granularity::Minutes(60)),
            ("PT5M", Granularity::Minutes(5)),
            ("PT12H", Granularity::Minutes(720)),
        ] {
            let config = parse(&format!(
                "queries: [{{name: q, granularity: {text}, metrics: [nOffered]}}]"
            ));
            assert_eq!(config.queries[0].granularity, granularity);
        }
        let metrics = parse(&with_metrics(
            "[nOffered, tHandle, oServiceLevel, nOverSla, tAgentResponseTime, oMediaCount, nBlindTransferred]",
        ));
        assert_eq!(metrics.queries[0].metrics.len(), 7);
        // Several queries, in file order.
        let two = parse(
            "queries:\n  - {name: a, granularity: PT5M, metrics: [nOffered]}\n  - {name: b, granularity: P1D, metrics: [nOffered]}\n",
        );
        let names: Vec<&str> = two.queries.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    /// A malformed config and what its message must contain.
    struct Case {
        yaml: String,
        /// `query "name"` or `queries[N]`, if the error is inside a query.
        query: Option<&'static str>,
        /// The field, as shown between backquotes, if any.
        field: Option<&'static str>,
        /// A fragment saying what was wrong or expected.
        expect: &'static str,
    }

    fn case(
        yaml: impl Into<String>,
        query: Option<&'static str>,
        field: Option<&'static str>,
        expect: &'static str,
    ) -> Case {
        Case {
            yaml: yaml.into(),
            query,
            field,
            expect,
        }
    }

    fn malformed() -> Vec<Case> {
        const Q1: Option<&str> = Some("query \"q1\"");
        const FIRST: Option<&str> = Some("queries[0]");
        vec![
            // The document as a whole.
            case("", None, None, "the file is empty"),
            case("# nothing but a comment\n", None, None, "the file is empty"),
            case(
                "queries: [",
                None,
                None,
                "did not find expected node content",
            ),
            case(
                "queries:\n  - name: q1\n   granularity: PT5M\n",
                None,
                None,
                "line",
            ),
            case(
                "- name: q1\n",
                None,
                None,
                "expected a mapping with a `queries` list",
            ),
            case(
                "just a string",
                None,
                None,
                "expected a mapping with a `queries` list",
            ),
            case(
                "{}",
                None,
                Some("queries"),
                "missing; expected a list of queries",
            ),
            case(
                "queries: ~",
                None,
                Some("queries"),
                "missing; expected a list of queries",
            ),
            case("queries: []", None, Some("queries"), "is empty"),
            case("queries: x", None, Some("queries"), "expected a list"),
            case(
                "querys: []",
                None,
                Some("querys"),
                "unknown key (did you mean `queries`?); expected `queries`",
            ),
            case(
                "query: []",
                None,
                Some("query"),
                "(did you mean `queries`?)",
            ),
            case(one("") + "extra: 1\n", None, Some("extra"), "unknown key"),
            case(
                "queries: []\nqueries: []\n",
                None,
                Some("queries"),
                "appears twice",
            ),
            case(
                one("") + "---\n" + &one(""),
                None,
                None,
                "more than one document",
            ),
            // Shape of a query.
            case(
                "queries:\n  - queues\n",
                FIRST,
                None,
                "expected a query: a mapping",
            ),
            case(
                "queries:\n  - [name, q1]\n",
                FIRST,
                None,
                "expected a query: a mapping",
            ),
            case(
                one(", groupBy: [queueId]"),
                Q1,
                Some("groupBy"),
                "unknown key (did you mean `group_by`?); expected one of `name`",
            ),
            case(
                one(", settle-delay: 1m"),
                Q1,
                Some("settle-delay"),
                "(did you mean `settle_delay`?)",
            ),
            case(
                one(", filters: {}"),
                Q1,
                Some("filters"),
                "(did you mean `filter`?)",
            ),
            case(
                one(", colour: blue"),
                Q1,
                Some("colour"),
                "unknown key; expected one of",
            ),
            case(one(", timeZone: UTC"), Q1, Some("timeZone"), "unknown key"),
            case(
                "queries: [{granularity: PT5M, metrics: [nOffered], nme: q1}]",
                FIRST,
                Some("nme"),
                "unknown key",
            ),
            case(
                "queries: [{name: 'bad name', granularity: PT5M, metrics: [nOffered], x: 1}]",
                FIRST,
                Some("x"),
                "unknown key",
            ),
            case(
                "queries:\n  - name: q1\n    name: q2\n",
                FIRST,
                Some("name"),
                "appears twice",
            ),
            case(
                one(", filter: {type: and, predicates: [{a: !tag 1}]}"),
                Q1,
                Some("filter.predicates[0].a"),
                "invalid type",
            ),
            // Wrong types.
            case(
                "queries:\n  - {name: q1, granularity: PT5M, metrics: nOffered}\n  - just a string\n  - !tagged {name: x}\n  - {name: q1, name: q2}\n",
                Q1,
                Some("metrics"),
                "expected a list",
            ),
            case(
                with_metrics("nOffered"),
                Q1,
                Some("metrics"),
                "expected a list",
            ),
            case(
                with_metrics("[nOffered, [tHandle]]"),
                Q1,
                Some("metrics[1]"),
                "expected a string",
            ),
            case(
                with_metrics("{nOffered: 1}"),
                Q1,
                Some("metrics"),
                "expected a list",
            ),
            case(
                one(", group_by: queueId"),
                Q1,
                Some("group_by"),
                "expected a list",
            ),
            case(
                one(", group_by: [{queueId: 1}]"),
                Q1,
                Some("group_by[0]"),
                "expected a string",
            ),
            case(
                "queries: [{name: [q1], granularity: PT5M, metrics: [nOffered]}]",
                FIRST,
                Some("name"),
                "expected a string",
            ),
            case(
                one(", granularity: [PT5M]"),
                Q1,
                Some("granularity"),
                "appears twice",
            ),
            case(
                "queries: [{name: q1, granularity: {minutes: 5}, metrics: [nOffered]}]",
                Q1,
                Some("granularity"),
                "expected a string",
            ),
            case(
                one(", settle_delay: [90s]"),
                Q1,
                Some("settle_delay"),
                "expected a string",
            ),
            case(
                one(", time_zone: {name: UTC}"),
                Q1,
                Some("time_zone"),
                "expected a string",
            ),
            // Names.
            case(
                "queries: [{granularity: PT5M, metrics: [nOffered]}]",
                FIRST,
                Some("name"),
                "missing; every query needs a unique name",
            ),
            case(
                "queries: [{name: '', granularity: PT5M, metrics: [nOffered]}]",
                FIRST,
                Some("name"),
                "\"\" is not a valid name",
            ),
            case(
                "queries: [{name: 'my queue', granularity: PT5M, metrics: [nOffered]}]",
                FIRST,
                Some("name"),
                "letters, digits",
            ),
            case(
                "queries: [{name: a/b, granularity: PT5M, metrics: [nOffered]}]",
                FIRST,
                Some("name"),
                "not a valid name",
            ),
            case(
                "queries: [{name: queüe, granularity: PT5M, metrics: [nOffered]}]",
                FIRST,
                Some("name"),
                "not a valid name",
            ),
            case(
                "queries: [{name: 'a\"b', granularity: PT5M, metrics: [nOffered]}]",
                FIRST,
                Some("name"),
                "not a valid name",
            ),
            case(
                "queries:\n  - {name: q1, granularity: PT5M, metrics: [nOffered]}\n  - {name: q2, granularity: PT5M, metrics: [nOffered]}\n  - {name: q1, granularity: P1D, metrics: [tHandle]}\n",
                Some("queries[2]"),
                Some("name"),
                "\"q1\" is already the name of queries[0]",
            ),
            // Errors in a later query name that query.
            case(
                "queries:\n  - {name: q1, granularity: PT5M, metrics: [nOffered]}\n  - {name: second, granularity: PT7M, metrics: [nOffered]}\n",
                Some("query \"second\""),
                Some("granularity"),
                "does not tile a day",
            ),
            case(
                "queries:\n  - {name: q1, granularity: PT5M, metrics: [nOffered]}\n  - {granularity: PT5M, metrics: [nOffered], bogus: 1}\n",
                Some("queries[1]"),
                Some("bogus"),
                "unknown key",
            ),
            // Granularity.
            case(
                "queries: [{name: q1, metrics: [nOffered]}]",
                Q1,
                Some("granularity"),
                "missing; expected an ISO-8601",
            ),
            case(
                one(", granularity: PT7M").replace("granularity: PT30M, ", ""),
                Q1,
                Some("granularity"),
                "does not tile a day",
            ),
            case(
                "queries: [{name: q1, granularity: PT1M, metrics: [nOffered]}]",
                Q1,
                Some("granularity"),
                "too fine",
            ),
            case(
                "queries: [{name: q1, granularity: P2D, metrics: [nOffered]}]",
                Q1,
                Some("granularity"),
                "longer than a day",
            ),
            case(
                "queries: [{name: q1, granularity: P1W, metrics: [nOffered]}]",
                Q1,
                Some("granularity"),
                "longer than a day",
            ),
            case(
                "queries: [{name: q1, granularity: 30m, metrics: [nOffered]}]",
                Q1,
                Some("granularity"),
                "not an ISO-8601 duration",
            ),
            case(
                "queries: [{name: q1, granularity: 30, metrics: [nOffered]}]",
                Q1,
                Some("granularity"),
                "not an ISO-8601 duration",
            ),
            case(
                "queries: [{name: q1, granularity: '', metrics: [nOffered]}]",
                Q1,
                Some("granularity"),
                "allowed: P1D",
            ),
            // Time zone.
            case(
                one(", time_zone: Europe/Londn"),
                Q1,
                Some("time_zone"),
                "did you mean \"Europe/London\"?",
            ),
            case(
                one(", time_zone: utc"),
                Q1,
                Some("time_zone"),
                "did you mean \"UTC\"?",
            ),
            case(
                one(", time_zone: europe/paris"),
                Q1,
                Some("time_zone"),
                "did you mean \"Europe/Paris\"?",
            ),
            case(
                one(", time_zone: '+01:00'"),
                Q1,
                Some("time_zone"),
                "not an IANA time zone",
            ),
            case(
                one(", time_zone: Mars/Olympus_Mons"),
                Q1,
                Some("time_zone"),
                "such as \"UTC\"",
            ),
            case(
                one(", time_zone: ''"),
                Q1,
                Some("time_zone"),
                "not an IANA time zone",
            ),
            // Durations.
            case(
                one(", settle_delay: 90"),
                Q1,
                Some("settle_delay"),
                "not a duration",
            ),
            case(
                one(", settle_delay: soon"),
                Q1,
                Some("settle_delay"),
                "such as \"90s\"",
            ),
            case(
                one(", settle_delay: -5s"),
                Q1,
                Some("settle_delay"),
                "not a duration",
            ),
            case(
                one(", settle_delay: 2h"),
                Q1,
                Some("settle_delay"),
                "longer than the 1h maximum",
            ),
            case(
                one(", settle_delay: 1h 1s"),
                Q1,
                Some("settle_delay"),
                "1h maximum",
            ),
            case(
                one(", refresh: 5s"),
                Q1,
                Some("refresh"),
                "shorter than the 10s minimum",
            ),
            case(
                one(", refresh: 9s 999ms"),
                Q1,
                Some("refresh"),
                "10s minimum",
            ),
            case(one(", refresh: 0s"), Q1, Some("refresh"), "10s minimum"),
            case(
                one(", refresh: often"),
                Q1,
                Some("refresh"),
                "such as \"5m\"",
            ),
            case(
                one(", refresh: 99999999999999999999999y"),
                Q1,
                Some("refresh"),
                "not a duration",
            ),
            // group_by.
            case(
                one(", group_by: [queue_id]"),
                Q1,
                Some("group_by[0]"),
                "not a Genesys dimension name",
            ),
            case(
                one(", group_by: [queueId, QueueId]"),
                Q1,
                Some("group_by[1]"),
                "camelCase",
            ),
            case(
                one(", group_by: ['']"),
                Q1,
                Some("group_by[0]"),
                "not a Genesys dimension name",
            ),
            case(
                one(", group_by: [queue-id]"),
                Q1,
                Some("group_by[0]"),
                "camelCase",
            ),
            case(
                one(", group_by: [1queue]"),
                Q1,
                Some("group_by[0]"),
                "camelCase",
            ),
            case(
                one(", group_by: [queueId, mediaType, queueId]"),
                Q1,
                Some("group_by[2]"),
                "listed twice (also group_by[0])",
            ),
            case(
                one(", group_by: [queueId, queueID]"),
                Q1,
                Some("group_by[1]"),
                "would both become the label `queue_id`",
            ),
            case(
                one(", group_by: [queueName]"),
                Q1,
                Some("group_by[0]"),
                "label `queue_name`, which the exporter adds",
            ),
            case(
                one(", group_by: [mediaType, interval]"),
                Q1,
                Some("group_by[1]"),
                "reserved: query, interval, queue_name",
            ),
            case(
                one(", group_by: [query]"),
                Q1,
                Some("group_by[0]"),
                "label `query`",
            ),
            // metrics.
            case(
                "queries: [{name: q1, granularity: PT5M}]",
                Q1,
                Some("metrics"),
                "missing; expected a list of Genesys metric names",
            ),
            case(
                "queries: [{name: q1, granularity: PT5M, metrics: ~}]",
                Q1,
                Some("metrics"),
                "missing",
            ),
            case(with_metrics("[]"), Q1, Some("metrics"), "is empty"),
            case(
                with_metrics("[offered]"),
                Q1,
                Some("metrics[0]"),
                "not a Genesys metric name",
            ),
            case(
                with_metrics("[nOffered, NOffered]"),
                Q1,
                Some("metrics[1]"),
                "n (count), t (timer) or o (observation)",
            ),
            case(
                with_metrics("[nOffered, noffered]"),
                Q1,
                Some("metrics[1]"),
                "followed by a capital letter",
            ),
            case(
                with_metrics("[n]"),
                Q1,
                Some("metrics[0]"),
                "not a Genesys metric name",
            ),
            case(
                with_metrics("[xOffered]"),
                Q1,
                Some("metrics[0]"),
                "not a Genesys metric name",
            ),
            case(
                with_metrics("[n_offered]"),
                Q1,
                Some("metrics[0]"),
                "not a Genesys metric name",
            ),
            case(
                with_metrics("[nOffered, 'tHandle ']"),
                Q1,
                Some("metrics[1]"),
                "not a Genesys metric name",
            ),
            case(
                with_metrics("[tHandle, nOffered, tHandle]"),
                Q1,
                Some("metrics[2]"),
                "listed twice (also metrics[0])",
            ),
            case(
                with_metrics("[nOverSla, nOverSLA]"),
                Q1,
                Some("metrics[1]"),
                "would both become",
            ),
            // filter.
            case(
                one(", filter: voice"),
                Q1,
                Some("filter"),
                "found a string; expected a mapping with `type: and` or `type: or` and a `predicates` list and/or a `clauses` list",
            ),
            case(one(", filter: [a]"), Q1, Some("filter"), "found a list"),
            case(
                one(", filter: {predicates: [{type: dimension}]}"),
                Q1,
                Some("filter.type"),
                "missing; expected `and` or `or`",
            ),
            case(
                one(", filter: {type: xor, predicates: [{}]}"),
                Q1,
                Some("filter.type"),
                "\"xor\" is not `and` or `or`",
            ),
            case(
                one(", filter: {type: AND, predicates: [{}]}"),
                Q1,
                Some("filter.type"),
                "not `and` or `or`",
            ),
            case(
                one(", filter: {type: 1, predicates: [{}]}"),
                Q1,
                Some("filter.type"),
                "1 is not `and` or `or`",
            ),
            case(
                one(", filter: {type: and}"),
                Q1,
                Some("filter"),
                "has no conditions",
            ),
            case(
                one(", filter: {type: and, predicates: []}"),
                Q1,
                Some("filter"),
                "has empty lists",
            ),
            case(
                one(", filter: {type: and, predicates: [], clauses: []}"),
                Q1,
                Some("filter"),
                "has empty lists",
            ),
            case(
                one(", filter: {type: and, predicates: {type: dimension}}"),
                Q1,
                Some("filter.predicates"),
                "found a mapping; expected a list of predicates",
            ),
            case(
                one(", filter: {type: and, predicates: [mediaType]}"),
                Q1,
                Some("filter.predicates[0]"),
                "found a string; expected a predicate mapping",
            ),
            case(
                one(", filter: {type: and, clauses: 5}"),
                Q1,
                Some("filter.clauses"),
                "found a number; expected a list of clauses",
            ),
            case(
                one(", filter: {type: and, clauses: [{type: or}]}"),
                Q1,
                Some("filter.clauses[0]"),
                "has no conditions; expected a `predicates` list",
            ),
            case(
                one(
                    ", filter: {type: and, clauses: [{type: or, predicates: [{}]}, {type: nand, predicates: [{}]}]}",
                ),
                Q1,
                Some("filter.clauses[1].type"),
                "not `and` or `or`",
            ),
            case(
                one(", filter: {type: and, clauses: [[]]}"),
                Q1,
                Some("filter.clauses[0]"),
                "found a list; expected a mapping with `type: and` or `type: or` and a `predicates` list, e.g.",
            ),
            case(
                one(", filter: {type: and, clauses: [{type: or, predicates: [7]}]}"),
                Q1,
                Some("filter.clauses[0].predicates[0]"),
                "found a number",
            ),
        ]
    }

    #[test]
    fn malformed_configs_name_file_query_and_field() {
        let cases = malformed();
        assert!(cases.len() >= 100, "{} cases", cases.len());
        for Case {
            yaml,
            query,
            field,
            expect,
        } in cases
        {
            let message = error(&yaml).to_string();
            let context = format!("\n  yaml: {yaml:?}\n  message: {message}");
            assert!(message.starts_with("test.yml:"), "file not named:{context}");
            assert!(!message.contains('\n'), "not one line:{context}");
            if let Some(query) = query {
                assert!(
                    message.contains(&format!(": {query}: ")),
                    "query {query} not named:{context}"
                );
            } else {
                assert!(!message.contains("query \""), "unexpected query:{context}");
            }
            if let Some(field) = field {
                assert!(
                    message.contains(&format!("field `{field}`: ")),
                    "field {field} not named:{context}"
                );
            }
            assert!(message.contains(expect), "missing {expect:?}:{context}");
        }
    }

    #[test]
    fn yaml_errors_keep_line_and_column() {
        let text = "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    colour: blue\n";
        let e = error(text);
        assert!(
            matches!(
                e,
                ConfigError::Syntax {
                    location: Some((5, _)),
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("test.yml:5:"), "{e}");
        let e = error("queries:\n  - name: q1\n    granularity: PT30M\n    metrics: nOffered\n");
        assert!(e.to_string().starts_with("test.yml:4:"), "{e}");
        let e = error("queries:\n  - name: q1\n   granularity: PT5M\n");
        assert!(
            matches!(
                e,
                ConfigError::Syntax {
                    location: Some(_),
                    ..
                }
            ),
            "{e:?}"
        );
    }

    #[test]
    fn validation_errors_are_structured() {
        match error(&one(", time_zone: Nowhere/Special")) {
            ConfigError::Invalid {
                origin,
                query,
                field,
                message,
            } => {
                assert_eq!(origin, ORIGIN);
                assert_eq!(query.as_deref(), Some("query \"q1\""));
                assert_eq!(field.as_deref(), Some("time_zone"));
                assert!(message.contains("Nowhere/Special"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_panic_on_mangled_input() {
        // Every prefix of the example, and the example with each character removed or
        // replaced: whatever happens, no panic, and errors stay one line naming the file.
        let chars: Vec<char> = EXAMPLE.chars().collect();
        let mut variants = Vec::new();
        for i in 0..chars.len() {
            variants.push(chars[..i].iter().collect::<String>());
            let mut removed = chars.clone();
            removed.remove(i);
            variants.push(removed.into_iter().collect());
            for replacement in ['"', '[', ':', '\t'] {
                let mut replaced = chars.clone();
                replaced[i] = replacement;
                variants.push(replaced.into_iter().collect());
            }
        }
        let mut accepted = 0;
        for text in variants {
            match Config::from_yaml(&text, ORIGIN) {
                Ok(_) => accepted += 1,
                Err(e) => {
                    let message = e.to_string();
                    assert!(message.starts_with("test.yml"), "{message}");
                    assert!(!message.contains('\n'), "{message}");
                }
            }
        }
        assert!(accepted > 0);
    }

    #[test]
    fn snake_case_examples() {
        let cases = [
            ("queueId", "queue_id"),
            ("nOverSla", "n_over_sla"),
            ("countNegative", "count_negative"),
            ("tAgentResponseTime", "t_agent_response_time"),
            ("requestedRoutingSkillId", "requested_routing_skill_id"),
            ("mediaType", "media_type"),
            ("direction", "direction"),
            ("oServiceLevel", "o_service_level"),
            ("nOffered", "n_offered"),
            ("p95", "p95"),
            ("queueID", "queue_id"),
            ("nOverSLA", "n_over_sla"),
            ("SLAValue", "sla_value"),
            ("sessionDnis", "session_dnis"),
            ("convertedFrom2nd", "converted_from2nd"),
            ("a1B", "a1_b"),
            ("already_snake", "already_snake"),
            ("", ""),
            ("X", "x"),
        ];
        for (camel, snake) in cases {
            assert_eq!(snake_case(camel), snake, "{camel}");
        }
        for name in RESERVED_LABELS {
            assert_eq!(snake_case(name), name);
        }
    }

    #[test]
    fn closest_zone_suggestions() {
        assert_eq!(closest_zone("Europe/Londn"), Some("Europe/London"));
        assert_eq!(closest_zone("asia/kolkata"), Some("Asia/Kolkata"));
        assert_eq!(closest_zone("Asia/Calcuta"), Some("Asia/Calcutta"));
        assert_eq!(closest_zone("Nowhere/Special"), None);
        assert_eq!(closest_zone(""), None);
        assert_eq!(closest_zone("utx"), Some("UTC"));
        assert_eq!(closest_zone("gb"), Some("GB"));
        for far_fetched in ["5", "x", "EU", "+01:00"] {
            assert_eq!(closest_zone(far_fetched), None, "{far_fetched}");
        }
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn load_reads_a_file() {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("{e}"),
        };
        let path = dir.path().join("queries.yml");
        if let Err(e) = std::fs::write(&path, EXAMPLE) {
            panic!("{e}");
        }
        match Config::load(&path) {
            Ok(config) => assert_eq!(config, parse(EXAMPLE)),
            Err(e) => panic!("{e}"),
        }
        // Errors in the file name the file by its path.
        let bad = dir.path().join("bad.yml");
        if let Err(e) = std::fs::write(&bad, one(", refresh: 1s")) {
            panic!("{e}");
        }
        let message = match Config::load(&bad) {
            Ok(c) => panic!("accepted {c:?}"),
            Err(e) => e.to_string(),
        };
        let expected = format!("{}: query \"q1\": field `refresh`: ", bad.display());
        assert!(message.starts_with(&expected), "{message}");
    }

    #[test]
    fn load_reports_unreadable_files() {
        let dir = match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("{e}"),
        };
        let missing = dir.path().join("missing.yml");
        let e = match Config::load(&missing) {
            Ok(c) => panic!("accepted {c:?}"),
            Err(e) => e,
        };
        assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
        let message = e.to_string();
        assert!(message.starts_with("cannot read config file "), "{message}");
        assert!(
            message.contains(&missing.display().to_string()),
            "{message}"
        );
        assert!(!message.contains('\n'));

        // A directory.
        let message = match Config::load(dir.path()) {
            Ok(c) => panic!("accepted {c:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            message.contains(&dir.path().display().to_string()),
            "{message}"
        );

        // Not UTF-8.
        let binary = dir.path().join("binary.yml");
        if let Err(e) = std::fs::write(&binary, [0x71, 0xff, 0xfe, 0x00]) {
            panic!("{e}");
        }
        let message = match Config::load(&binary) {
            Ok(c) => panic!("accepted {c:?}"),
            Err(e) => e.to_string(),
        };
        assert!(message.contains("not UTF-8"), "{message}");

        // Far too large.
        let large = dir.path().join("large.yml");
        let filler = vec![b'#'; (MAX_FILE_BYTES + 1) as usize];
        if let Err(e) = std::fs::write(&large, filler) {
            panic!("{e}");
        }
        let e = match Config::load(&large) {
            Ok(c) => panic!("accepted {c:?}"),
            Err(e) => e,
        };
        assert!(matches!(e, ConfigError::TooLarge { .. }), "{e:?}");
        assert!(e.to_string().contains("large.yml"), "{e}");
    }

    /// A config with an `or` list over `queues` queue ids.
    fn many_queues(queues: usize, group_by: &str) -> String {
        let predicates: Vec<String> = (0..queues)
            .map(|i| {
                format!(
                    "{{type: dimension, dimension: queueId, operator: matches, value: {i:08}-0000-4000-8000-000000000000}}"
                )
            })
            .collect();
        format!(
            "queries:\n  - name: many\n    granularity: PT30M\n    metrics: [nOffered]\n    group_by: {group_by}\n    filter: {{type: or, predicates: [{}]}}\n",
            predicates.join(", ")
        )
    }

    /// A filter too large for one request body is split over as few requests as fit
    /// when the query groups by its dimension, and each request is built from one share.
    #[test]
    fn a_filter_too_large_for_one_request_is_split() {
        let fits = parse(&many_queues(4_000, "[queueId]"));
        let interval = Interval::parse_iso8601("2026-11-25T12:00:00Z/2026-11-25T12:30:00Z")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fits.queries[0].requests(&interval).len(), 1);
        let split = parse(&many_queues(12_000, "[queueId, mediaType]"));
        let query = &split.queries[0];
        let filter = query.filter.as_ref().unwrap_or_else(|| panic!("no filter"));
        assert_eq!(filter.split_on(), Some("queueId"));
        let requests = query.requests(&interval);
        assert_eq!(requests.len(), 3);
        let mut values = 0;
        for request in &requests {
            let body = serde_json::to_vec(request).unwrap_or_default();
            assert!(
                body.len() <= crate::filter::MAX_REQUEST_BYTES,
                "{}",
                body.len()
            );
            let sent: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            assert_eq!(
                sent["interval"],
                "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z"
            );
            assert_eq!(sent["groupBy"], json!(["queueId", "mediaType"]));
            values += sent["filter"]["predicates"].as_array().map_or(0, Vec::len);
        }
        assert_eq!(values, 12_000);
        // Shown back as written.
        let text = split.to_yaml().unwrap_or_default();
        assert_eq!(parse(&text), split);
    }

    /// A filter too large for one request that cannot be split exactly is refused at
    /// start-up, naming the file, the query, the field and why.
    #[test]
    fn a_filter_too_large_that_cannot_be_split_exactly_is_refused() {
        let message = Config::from_yaml(&many_queues(8_000, "[mediaType]"), "big.yaml")
            .map(|c| format!("accepted: {} queries", c.queries.len()))
            .unwrap_or_else(|e| e.to_string());
        assert!(
            message.starts_with("big.yaml: query \"many\": field `filter.predicates`: "),
            "{message}"
        );
        assert!(message.contains("512 KB"), "{message}");
        assert!(
            message.contains("queueId is not in group_by, so the answers of split requests could not be merged exactly"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }
}
