//! The YAML query config: which aggregate queries to run, and its validation.
//!
//! Each query becomes one `POST /api/v2/analytics/{source}/aggregates/query` per
//! completed bucket, `{source}` being a row of [`crate::genesys::sources::SOURCES`]
//! (`conversations` unless the query says otherwise). Everything that can be checked without talking to Genesys is checked
//! here, when the file is loaded, so that a typo stops the exporter at start-up with a
//! message naming the file, the query and the field, instead of surfacing hours later as a
//! 400 from the API or as a silently missing series.
//!
//! Here: the types and `load`. Beside it: [`validate`] (the rules), [`names`] (metric and
//! dimension names against the catalogue of what Genesys accepts), [`diagnostics`] (YAML
//! errors rewritten, typo hints, the pass that recovers query names from a broken file)
//! and [`filter`] (a filter's shape, and its split over several requests).
//!
//! ```yaml
//! queries:
//!   - name: queues              # unique; becomes the `query` label
//!     source: conversations     # the default; or users, flows, bots, actions, ...
//!     granularity: PT30M        # PT5M..P1D, ISO-8601
//!     time_zone: UTC            # IANA; aligns P1D buckets to local midnight, DST-correct
//!     settle_delay: 90s         # wait after an interval ends before querying it (humantime)
//!     refresh: 5m               # optional: re-query the latest completed interval this often
//!     group_by: [queueId, mediaType, direction]
//!     metrics: [nOffered, nConnected, tHandle, oServiceLevel]
//!     filter: {type: and, predicates: [{type: dimension, dimension: mediaType, value: voice}]}
//!     max_predicates_per_request: 100   # filters with more are split over requests
//!     allow_unlisted: []        # names newer than the catalogue, sent unchecked
//! ```

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::genesys::bodies::AggregateQuery;
use crate::genesys::sources::{self, Source};
use crate::interval::{Granularity, Interval};

mod agents;
mod diagnostics;
pub mod filter;
mod names;
mod observations;
#[cfg(test)]
mod tests;
mod trunks;
mod validate;
mod voice;

pub use agents::{AGENTS_ONLY_KEYS, AgentSetConfig, PUSHED_GROUPINGS, QUEUE_ONLY_KEYS};
pub use observations::{
    DEFAULT_MEDIA_TYPES, DEFAULT_OBSERVATION_REFRESH, DEFAULT_RECONCILE, DETAIL_METRICS,
    MAX_QUEUES_PER_REQUEST, MEDIA_TYPES, ObservationConfig, QueueSelection, Transport,
    channel_needs, check_channel_budget,
};
use observations::{ObservationSet, RawObservation, check_channel_limit};
pub use trunks::TrunkSetConfig;
pub use voice::{DEFAULT_THRESHOLD, VoiceGroup, VoiceSetConfig};
use voice::{RawVoiceSet, validate_sets as validate_voice_sets};

use diagnostics::{NameOnly, NamesOnly, syntax_error};
use filter::{DEFAULT_MAX_PREDICATES, QueryFilter};

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
/// Largest `max_predicates_per_request`: past this a filter is a list nobody maintains by
/// hand, and an API that caps predicates at all caps them far lower.
pub const MAX_PREDICATES_PER_REQUEST: usize = 1000;

/// The demo's query of each source besides conversations, in 30-minute buckets: name,
/// source, `group_by`, metrics.
const DEMO_SOURCE_QUERIES: [(&str, &str, &[&str], &[&str]); 9] = [
    (
        "agents_time",
        "users",
        &["userId"],
        &[
            "tAgentRoutingStatus",
            "tSystemPresence",
            "tOrganizationPresence",
        ],
    ),
    (
        "ivr",
        "flows",
        &["flowId", "flowOutcomeId"],
        &[
            "nFlow",
            "tFlow",
            "tFlowDisconnect",
            "tFlowExit",
            "nFlowOutcome",
            "nFlowOutcomeFailed",
            "tFlowOutcome",
        ],
    ),
    (
        "bots",
        "bots",
        &["botName"],
        &[
            "nBotSessions",
            "nBotSessionTurns",
            "tBotSession",
            "tBotRecognitionFailure",
            "tBotExit",
            "tBotDisconnect",
        ],
    ),
    (
        "data_actions",
        "actions",
        &["actionName", "errorType"],
        &["tTotalExecution"],
    ),
    (
        "surveys",
        "surveys",
        &["queueId"],
        &[
            "nSurveysSent",
            "nSurveyResponses",
            "nSurveyNpsResponses",
            "nSurveyNpsPromoters",
            "nSurveyNpsDetractors",
            "oSurveyTotalScore",
        ],
    ),
    (
        "evaluations",
        "evaluations",
        &["queueId"],
        &["nEvaluations", "oTotalScore", "oTotalCriticalScore"],
    ),
    (
        "transcripts",
        "transcripts",
        &["queueId"],
        &[
            "nSpeechTextAnalyzedConversations",
            "oSentimentScore",
            "tAgentSpeech",
            "tCustomerSpeech",
            "tSilence",
            "tOverTalkSpeech",
        ],
    ),
    (
        "flow_executions",
        "flowexecutions",
        &["flowId"],
        &["nFlowExecutions"],
    ),
    (
        "rate_limits",
        "ratelimits",
        &["limitName", "namespace"],
        &["oRateLimitRecorded"],
    ),
];

/// The whole config file: the aggregate queries and the queue observation sets to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The queries, in file order; names unique across queries and observations.
    pub queries: Vec<QueryConfig>,
    /// The queue observation sets, in file order. Queries, observations and trunk sets
    /// together are at least one entry.
    pub observations: Vec<ObservationConfig>,
    /// The agents sets (`observations:` entries with `source: agents`), in file order.
    pub agents: Vec<AgentSetConfig>,
    /// The trunk sets (`trunks:`), in file order.
    pub trunks: Vec<TrunkSetConfig>,
    /// The voice quality sets (`voice_quality:`), in file order; none unless configured.
    pub voice_quality: Vec<VoiceSetConfig>,
}

/// What a set of `kind` (`observations`, `agents`) serves, by its transport.
fn served(kind: &str, transport: Transport, refresh: Duration, reconcile: Duration) -> String {
    let every = |period| humantime::format_duration(period);
    match transport {
        Transport::Poll => format!("{kind} every {}", every(refresh)),
        Transport::Push => format!("{kind} pushed, reconciled every {}", every(reconcile)),
        Transport::Auto => format!(
            "{kind} pushed (polled every {} while push is down), reconciled every {}",
            every(refresh),
            every(reconcile)
        ),
    }
}

/// Each query's and set's name with what it serves (a granularity,
/// `observations every 30s`, `observations pushed, reconciled every 5m`, `agents every 30s`, `trunks every 30s` or
/// `voice quality, PT15M`): the snapshot store's entries, at start-up and on reload.
pub fn served_entries(config: &Config) -> impl Iterator<Item = (&str, String)> {
    let every = |refresh| humantime::format_duration(refresh);
    config
        .queries
        .iter()
        .map(|q| {
            let what = format!("{}, {}", q.source.segment, q.granularity);
            (q.name.as_str(), what)
        })
        .chain(config.observations.iter().map(move |o| {
            let what = served("observations", o.transport, o.refresh, o.reconcile);
            (o.name.as_str(), what)
        }))
        .chain(config.agents.iter().map(move |a| {
            let what = served("agents", a.transport, a.refresh, a.reconcile);
            (a.name.as_str(), what)
        }))
        .chain(config.trunks.iter().map(move |t| {
            (
                t.name.as_str(),
                format!("trunks every {}", every(t.refresh)),
            )
        }))
        .chain(
            config
                .voice_quality
                .iter()
                .map(|v| (v.name.as_str(), format!("voice quality, {}", v.granularity))),
        )
}

/// The dimensions whose names are worth their API calls: those some query groups by,
/// those of the named qualifiers of its metrics (`presenceId` for
/// `tOrganizationPresence`), the queues while queues are observed, and the organization
/// presences (`presenceId`) while agents are counted by presence, the queues while a
/// pushed agents set counts `per_queue`, and the queues while a voice quality set groups
/// by queue.
pub fn named_dimensions<'a>(
    queries: &'a [QueryConfig],
    observations: &[ObservationConfig],
    agents: &[AgentSetConfig],
    voice: &[VoiceSetConfig],
) -> impl Iterator<Item = &'a str> {
    queries
        .iter()
        .flat_map(|q| {
            let qualifiers = q.metrics.iter().filter_map(|metric| {
                let qualifier = q.source.qualifier(metric)?;
                qualifier.name.map(|(key, _)| key)
            });
            q.group_by.iter().map(String::as_str).chain(qualifiers)
        })
        .chain((!observations.is_empty()).then_some("queueId"))
        .chain(
            agents
                .iter()
                .any(AgentSetConfig::counts_presences)
                .then_some(sources::PRESENCE_NAMES),
        )
        .chain(
            agents
                .iter()
                .any(|set| !set.per_queue.is_empty())
                .then_some("queueId"),
        )
        .chain(
            voice
                .iter()
                .any(VoiceSetConfig::names_queues)
                .then_some("queueId"),
        )
}

/// One aggregate query, validated: every field is already in the form the exporter uses.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryConfig {
    /// Unique name, made of `[A-Za-z0-9_.:-]`; the value of the `query` label, so that
    /// series from different queries never collide.
    pub name: String,
    /// The aggregates endpoint queried, and with it the catalogue the names are checked
    /// against and the series prefix (`source:`, default `conversations`).
    pub source: &'static Source,
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
    /// requests when too large for one (see [`filter`]).
    pub filter: Option<QueryFilter>,
    /// Which bucket is polled: the latest completed one (default), or the one in
    /// progress, from its start to now, every `refresh`.
    pub period: Period,
    /// Most predicates one request of this query carries (1 to 1,000, default 100); a
    /// filter with more is split over several requests.
    pub max_predicates_per_request: usize,
    /// Metric and dimension names outside the catalogue of names Genesys accepts, sent
    /// unchecked: for names newer than the exporter. Listed explicitly, per query, so a
    /// typo elsewhere is still caught.
    pub allow_unlisted: Vec<String>,
}

/// Which bucket a query polls.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Period {
    /// The latest completed bucket (after its settle delay).
    #[default]
    Completed,
    /// The bucket that contains now, from its start to now ("today so far").
    Current,
}

impl QueryConfig {
    /// The aggregates requests of one poll of `interval`: one, or one per share of a
    /// split filter. Their answers' `results` together are the answer to the query.
    pub fn requests(&self, interval: &Interval) -> Vec<AggregateQuery<'_>> {
        self.requests_until(interval, interval.end)
    }

    /// The requests for `interval` up to `until` (the interval in progress, start to
    /// now): then without a granularity, so that the whole range is the one bucket.
    pub fn requests_until(
        &self,
        interval: &Interval,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Vec<AggregateQuery<'_>> {
        let until = until.clamp(interval.start + chrono::TimeDelta::seconds(1), interval.end);
        let partial = until < interval.end;
        let asked = Interval {
            start: interval.start,
            end: until,
        };
        let request = |filter| AggregateQuery {
            interval: asked.to_iso8601(),
            granularity: if partial {
                String::new()
            } else {
                self.granularity.to_string()
            },
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

    /// What to warn about this query's `allow_unlisted` names when its config is loaded,
    /// once each: that a name goes unchecked, or that it is in the catalogue and needs
    /// no entry.
    pub fn allow_unlisted_notes(&self) -> Vec<String> {
        names::allow_unlisted_notes(self.source, &self.allow_unlisted)
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
                source: sources::CONVERSATIONS,
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
                period: Period::Completed,
                max_predicates_per_request: DEFAULT_MAX_PREDICATES,
                allow_unlisted: Vec::new(),
            }],
            observations: Vec::new(),
            agents: Vec::new(),
            trunks: Vec::new(),
            voice_quality: Vec::new(),
        }
    }

    /// The built-in query and `live`, every queue's observations: what the exporter runs
    /// against a real org without `--config.file`.
    pub fn builtin_with_live() -> Config {
        let mut config = Config::builtin_default();
        config.observations.push(ObservationConfig::builtin_live());
        config
    }

    /// What `--demo` runs without a config file: the built-in query, `today` (the same KPIs
    /// for the day so far, every minute), one query of every other source (so that every
    /// dashboard has data out of the box) and `live`, pushed by the simulator's
    /// Notifications API (`transport: auto`: polled while push is down).
    pub fn demo() -> Config {
        let mut config = Config::builtin_with_live();
        for set in &mut config.observations {
            set.transport = Transport::Auto;
        }
        let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        config.queries.push(QueryConfig {
            name: "today".into(),
            source: sources::CONVERSATIONS,
            granularity: Granularity::Day,
            time_zone: Tz::UTC,
            settle_delay: Duration::ZERO,
            refresh: Some(Duration::from_secs(60)),
            group_by: strings(&["queueId", "mediaType"]),
            // The built-in query's KPIs, so every panel of the dashboard has data for it.
            metrics: config.queries[0].metrics.clone(),
            filter: None,
            period: Period::Current,
            max_predicates_per_request: DEFAULT_MAX_PREDICATES,
            allow_unlisted: Vec::new(),
        });
        let template = config.queries[0].clone();
        for (name, segment, group_by, metrics) in DEMO_SOURCE_QUERIES {
            let source = sources::source(segment)
                .unwrap_or_else(|| panic!("the demo's source {segment:?} is a row of the table"));
            config.queries.push(QueryConfig {
                name: name.to_string(),
                source,
                group_by: strings(group_by),
                metrics: strings(metrics),
                ..template.clone()
            });
        }
        config.agents.push(AgentSetConfig::whole_org("agents_now"));
        config.trunks.push(TrunkSetConfig::every_trunk("trunks"));
        // By queue and edge: the voice dashboard's per-edge panel sits beside the trunks'.
        config.voice_quality.push(VoiceSetConfig {
            group_by: vec![VoiceGroup::Queue, VoiceGroup::Edge],
            ..VoiceSetConfig::by_queue("voice", Granularity::Minutes(15))
        });
        config
    }

    /// Logs every query's notes on its `allow_unlisted` names (see
    /// [`QueryConfig::allow_unlisted_notes`]): once per load, at start-up and on each
    /// reload alike.
    pub fn log_allow_unlisted_notes(&self) {
        for query in &self.queries {
            for note in query.allow_unlisted_notes() {
                tracing::warn!(query = %query.name, field = "allow_unlisted", "{note}");
            }
        }
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
                    source: (q.source != sources::CONVERSATIONS).then_some(q.source.segment),
                    granularity: q.granularity.as_iso8601(),
                    time_zone: q.time_zone.name(),
                    settle_delay: humantime::format_duration(q.settle_delay).to_string(),
                    refresh: q.refresh.map(|r| humantime::format_duration(r).to_string()),
                    group_by: &q.group_by,
                    metrics: &q.metrics,
                    filter: q.filter.as_ref().map(QueryFilter::written),
                    period: (q.period == Period::Current).then_some("current"),
                    max_predicates_per_request: (q.max_predicates_per_request
                        != DEFAULT_MAX_PREDICATES)
                        .then_some(q.max_predicates_per_request),
                    allow_unlisted: &q.allow_unlisted,
                })
                .collect(),
            observations: self
                .observations
                .iter()
                .map(|o| OutSet::Queues(o.written()))
                .chain(self.agents.iter().map(|a| OutSet::Agents(a.written())))
                .collect(),
            trunks: self.trunks.iter().map(TrunkSetConfig::written).collect(),
            voice_quality: self.voice_quality.iter().map(|v| v.written()).collect(),
        };
        serde_yaml_ng::to_string(&out)
    }
}

// ---------------------------------------------------------------------------------------
// The file as written. Values stay close to the text here (durations and zones as strings)
// so that validation can quote them back in messages.

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with a `queries` list (and optionally `observations`, `trunks`, \
        `voice_quality`) at the top level"
)]
struct RawConfig {
    #[serde(default)]
    queries: Option<Vec<RawQuery>>,
    #[serde(default)]
    observations: Option<Vec<RawObservation>>,
    #[serde(default)]
    trunks: Option<Vec<trunks::RawTrunkSet>>,
    voice_quality: Option<Vec<RawVoiceSet>>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a query: a mapping with keys name, source, granularity, time_zone, \
        settle_delay, refresh, group_by, metrics, filter, period, max_predicates_per_request, \
        allow_unlisted"
)]
struct RawQuery {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    source: Option<String>,
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
    #[serde(default)]
    period: Option<String>,
    max_predicates_per_request: Option<u64>,
    #[serde(default)]
    allow_unlisted: Option<Vec<String>>,
}

#[derive(Serialize)]
struct OutConfig<'a> {
    queries: Vec<OutQuery<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    observations: Vec<OutSet<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    trunks: Vec<trunks::OutTrunkSet<'a>>,
    voice_quality: Vec<voice::OutVoiceSet<'a>>,
}

/// An entry of `observations:` for writing back, of either kind.
#[derive(Serialize)]
#[serde(untagged)]
enum OutSet<'a> {
    Queues(observations::OutObservation<'a>),
    Agents(agents::OutAgentSet<'a>),
}

#[derive(Serialize)]
struct OutQuery<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<&'static str>,
    granularity: String,
    time_zone: &'a str,
    settle_delay: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
    group_by: &'a [String],
    metrics: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    period: Option<&'static str>,
    max_predicates_per_request: Option<usize>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    allow_unlisted: &'a [String],
}

/// `[A-Za-z0-9_.:-]+`: safe as a label value and in log lines, and easy to type.
pub(super) fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
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
