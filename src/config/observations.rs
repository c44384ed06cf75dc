//! The `observations:` list: queue observation sets, polled every `refresh`.
//!
//! ```yaml
//! observations:
//!   - name: live                 # the `query` label; unique across queries and observations
//!     refresh: 30s               # default 30s, at least 10s
//!     metrics: [oWaiting, oInteracting, oOnQueueUsers, oUserPresences]
//!     detail_metrics: [oWaiting] # optional: the oldest-wait gauge
//!     queues: all                # or a list of queue ids
//!     media_types: [voice, chat] # optional mediaType predicate
//!     max_queues_per_request: 100
//!     presence_ids: false        # true: oUserPresences per organization presence id
//!     transport: poll            # or push, or auto (docs/push.md)
//!     reconcile: 5m              # push and auto: the REST poll that checks pushed state
//! ```
//!
//! Each refresh sends one `POST /api/v2/analytics/queues/observations/query` per
//! `max_queues_per_request` queues (see [`crate::genesys::observations`]). An entry with
//! `source: agents` is an agents set instead ([`super::agents`]); `source: queues` is
//! the default.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::agents::{AgentSetConfig, RawAgentSet, check_source, refuse_keys};
use super::validate::{FieldError, check_ids, check_name, check_refresh};
use crate::genesys::catalog::{self, Lookup, OBSERVATION_METRICS};
use crate::genesys::notifications::{MAX_CHANNELS, MAX_TOPICS_PER_CHANNEL};

/// Refresh period when an observation set gives none.
pub const DEFAULT_OBSERVATION_REFRESH: Duration = Duration::from_secs(30);
/// The practical cap on `queueId` predicates in one observation request (not published
/// by Genesys; public tools use it, and the simulator enforces it).
pub const MAX_QUEUES_PER_REQUEST: usize = 100;
/// Observation metrics that list their conversations (`detailMetrics`), giving the
/// oldest-wait style gauges.
pub const DETAIL_METRICS: [&str; 3] = ["oWaiting", "oInteracting", "oAlerting"];
/// Genesys `mediaType` values (the observation filter's second dimension).
pub const MEDIA_TYPES: [&str; 8] = [
    "voice",
    "chat",
    "email",
    "message",
    "callback",
    "cobrowse",
    "video",
    "screenshare",
];
/// The metrics of the built-in `live` set: what the contact-center dashboard and the
/// alerts read (waiting, alerting, interacting by media type; agents on queue by
/// routing status) and the member counts, a queue's size in one series each. Left out,
/// for a config to add: `oUserRoutingStatuses` (five series a queue that repeat
/// `oOnQueueUsers` and `oOffQueueUsers`) and `oUserPresences` (one series a queue per
/// system presence, or per organization presence with `presence_ids`).
pub const BUILTIN_LIVE_METRICS: [&str; 7] = [
    "oWaiting",
    "oInteracting",
    "oAlerting",
    "oOnQueueUsers",
    "oOffQueueUsers",
    "oMemberUsers",
    "oActiveUsers",
];
/// How often a pushed set polls by REST anyway, when it gives no `reconcile`.
pub const DEFAULT_RECONCILE: Duration = Duration::from_secs(300);

/// How a queue observation set learns its values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Transport {
    /// A REST poll every `refresh`.
    #[default]
    Poll,
    /// Pushed by the Notifications API; a REST poll only every `reconcile` (and after
    /// every (re)connect, to seed the state).
    Push,
    /// Pushed, and polled every `refresh` while push is down.
    Auto,
}

impl Transport {
    /// The word the config uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Poll => "poll",
            Transport::Push => "push",
            Transport::Auto => "auto",
        }
    }

    /// Whether the set is pushed (`push` or `auto`).
    pub fn is_pushed(self) -> bool {
        self != Transport::Poll
    }
}

/// Media types zero-filled when an observation set names none: the ones a contact
/// center routes through queues day to day.
pub const DEFAULT_MEDIA_TYPES: [&str; 5] = ["voice", "callback", "chat", "email", "message"];

/// One observation set, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ObservationConfig {
    /// Unique across queries and observations: the `query` label of its series.
    pub name: String,
    /// How often every queue is observed (before any stretching to fit the budget).
    pub refresh: Duration,
    /// Observation metrics (`oWaiting`, `oOnQueueUsers`, ...), at least one.
    pub metrics: Vec<String>,
    /// Metrics whose conversations are listed, for the oldest-in-state gauges.
    pub detail_metrics: Vec<String>,
    /// Which queues are observed.
    pub queues: QueueSelection,
    /// The `mediaType` predicate; empty means every media type.
    pub media_types: Vec<String>,
    /// Queue ids per request, 1 to 100.
    pub max_queues_per_request: usize,
    /// `oUserPresences` per organization presence id (a `presence_id` label) instead of
    /// summed per system presence. An org may define dozens of presences, and every
    /// one is zero-filled for every queue: opt-in, and only with `oUserPresences`.
    pub presence_ids: bool,
    /// Polled, pushed, or pushed with polling while push is down.
    pub transport: Transport,
    /// A pushed set's REST poll, which counts and corrects what push got wrong.
    pub reconcile: Duration,
}

impl ObservationConfig {
    /// `live`: over every queue, every 30 s, [`BUILTIN_LIVE_METRICS`] and the oldest
    /// wait: 27 series a queue (BENCHMARKS.md), 27,000 for 1,000 queues.
    pub fn builtin_live() -> ObservationConfig {
        ObservationConfig {
            name: "live".into(),
            refresh: DEFAULT_OBSERVATION_REFRESH,
            metrics: BUILTIN_LIVE_METRICS.iter().map(|m| m.to_string()).collect(),
            detail_metrics: vec!["oWaiting".into()],
            queues: QueueSelection::All,
            media_types: Vec::new(),
            max_queues_per_request: MAX_QUEUES_PER_REQUEST,
            presence_ids: false,
            transport: Transport::Poll,
            reconcile: DEFAULT_RECONCILE,
        }
    }

    /// The notification channels a pushed set needs for `queues` queues (one topic a
    /// queue, [`MAX_TOPICS_PER_CHANNEL`] a channel); none for a polled one.
    pub fn channels_for(&self, queues: usize) -> usize {
        if self.transport.is_pushed() {
            queues.div_ceil(MAX_TOPICS_PER_CHANNEL).max(1)
        } else {
            0
        }
    }

    /// The media types whose conversation counts are zero-filled: the configured
    /// ones, else [`DEFAULT_MEDIA_TYPES`].
    pub fn zero_fill_media_types(&self) -> Vec<&str> {
        if self.media_types.is_empty() {
            DEFAULT_MEDIA_TYPES.to_vec()
        } else {
            self.media_types.iter().map(String::as_str).collect()
        }
    }

    /// The set as [`super::Config::to_yaml`] writes it.
    pub(super) fn written(&self) -> OutObservation<'_> {
        OutObservation {
            name: &self.name,
            refresh: humantime::format_duration(self.refresh).to_string(),
            metrics: &self.metrics,
            detail_metrics: &self.detail_metrics,
            queues: match &self.queues {
                QueueSelection::All => OutQueues::Word("all"),
                QueueSelection::Ids(ids) => OutQueues::Ids(ids),
            },
            media_types: &self.media_types,
            max_queues_per_request: self.max_queues_per_request,
            presence_ids: self.presence_ids,
            transport: self
                .transport
                .is_pushed()
                .then_some(self.transport.as_str()),
            reconcile: self
                .transport
                .is_pushed()
                .then(|| humantime::format_duration(self.reconcile).to_string()),
        }
    }

    /// Requests one refresh sends for `queues` queues.
    pub fn requests_for(&self, queues: usize) -> usize {
        queues.div_ceil(self.max_queues_per_request.max(1))
    }
}

/// Which queues an observation set covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueSelection {
    /// Every queue the OAuth client can see, as listed with the queue names (and
    /// refreshed with them).
    All,
    /// These queue ids, in file order, deduplicated.
    Ids(Vec<String>),
}

/// An observation set for writing back as YAML.
#[derive(Serialize)]
pub(super) struct OutObservation<'a> {
    name: &'a str,
    refresh: String,
    metrics: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    detail_metrics: &'a [String],
    queues: OutQueues<'a>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    media_types: &'a [String],
    max_queues_per_request: usize,
    #[serde(skip_serializing_if = "is_false")]
    presence_ids: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    transport: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reconcile: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !value
}

#[derive(Serialize)]
#[serde(untagged)]
enum OutQueues<'a> {
    Word(&'static str),
    Ids(&'a [String]),
}

/// An observation set as written: a queue set's keys, an agents set's (`source:
/// agents`, see [`super::agents`]), or the keys of both, which validation sorts out.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "an observation set: a mapping with keys name, source, refresh, metrics, \
        detail_metrics, queues, media_types, max_queues_per_request, presence_ids, transport, \
        reconcile, group_by, teams, divisions, per_agent, per_queue"
)]
pub(super) struct RawObservation {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    refresh: Option<String>,
    #[serde(default)]
    metrics: Option<Vec<String>>,
    #[serde(default)]
    detail_metrics: Option<Vec<String>>,
    #[serde(default)]
    queues: Option<RawQueues>,
    #[serde(default)]
    media_types: Option<Vec<String>>,
    #[serde(default)]
    max_queues_per_request: Option<usize>,
    #[serde(default)]
    presence_ids: Option<bool>,
    #[serde(default)]
    transport: Option<String>,
    #[serde(default)]
    reconcile: Option<String>,
    #[serde(default)]
    group_by: Option<Vec<String>>,
    #[serde(default)]
    teams: Option<Vec<String>>,
    #[serde(default)]
    divisions: Option<Vec<String>>,
    #[serde(default)]
    per_agent: Option<bool>,
    #[serde(default)]
    per_queue: Option<Vec<String>>,
}

/// A validated entry of `observations:`, of either kind.
pub(super) enum ObservationSet {
    Queues(ObservationConfig),
    Agents(AgentSetConfig),
}

/// `queues: all` or `queues: [id, ...]`.
#[derive(Deserialize)]
#[serde(untagged, expecting = "`all` or a list of queue ids")]
enum RawQueues {
    Word(String),
    Ids(Vec<String>),
}

impl RawObservation {
    pub(super) fn validate(self) -> Result<ObservationSet, FieldError> {
        let name = check_name(self.name, "observation set")?;
        let agents = check_source(self.source.as_deref())?;
        let refresh = match self.refresh {
            None => DEFAULT_OBSERVATION_REFRESH,
            Some(text) => check_refresh(&text, "30s")?,
        };
        if agents {
            refuse_keys(
                &[
                    ("metrics", self.metrics.is_some()),
                    ("detail_metrics", self.detail_metrics.is_some()),
                    ("media_types", self.media_types.is_some()),
                    (
                        "max_queues_per_request",
                        self.max_queues_per_request.is_some(),
                    ),
                    ("presence_ids", self.presence_ids.is_some()),
                ],
                true,
            )?;
            let queues = match self.queues {
                None => None,
                Some(RawQueues::Word(word)) if word == "all" => None,
                Some(RawQueues::Word(word)) => {
                    return Err(FieldError::new(
                        "queues",
                        format!("{word:?} is neither `all` nor a list of queue ids"),
                    ));
                }
                Some(RawQueues::Ids(ids)) => Some(ids),
            };
            let set = RawAgentSet {
                name,
                refresh,
                group_by: self.group_by,
                queues,
                teams: self.teams,
                divisions: self.divisions,
                transport: check_transport(self.transport, self.reconcile)?,
                per_agent: self.per_agent,
                per_queue: self.per_queue,
            };
            return set.validate().map(ObservationSet::Agents);
        }
        refuse_keys(
            &[
                ("group_by", self.group_by.is_some()),
                ("teams", self.teams.is_some()),
                ("divisions", self.divisions.is_some()),
                ("per_agent", self.per_agent.is_some()),
                ("per_queue", self.per_queue.is_some()),
            ],
            false,
        )?;
        let Some(metrics) = self.metrics else {
            return Err(FieldError::new(
                "metrics",
                format!(
                    "missing; expected a list of queue observation metrics: {}",
                    OBSERVATION_METRICS.join(", ")
                ),
            ));
        };
        if metrics.is_empty() {
            return Err(FieldError::new(
                "metrics",
                "is empty; expected at least one queue observation metric such as oWaiting",
            ));
        }
        check_metric_list(&metrics, "metrics")?;
        let detail_metrics = self.detail_metrics.unwrap_or_default();
        check_metric_list(&detail_metrics, "detail_metrics")?;
        for (i, metric) in detail_metrics.iter().enumerate() {
            let field = format!("detail_metrics[{i}]");
            if !DETAIL_METRICS.contains(&metric.as_str()) {
                return Err(FieldError::new(
                    field,
                    format!(
                        "{metric:?} lists no conversations; detail metrics are {}",
                        DETAIL_METRICS.join(", ")
                    ),
                ));
            }
            if !metrics.contains(metric) {
                return Err(FieldError::new(
                    field,
                    format!("{metric:?} is not in `metrics`; add it there too"),
                ));
            }
        }
        let queues = match self.queues {
            None => QueueSelection::All,
            Some(RawQueues::Word(word)) if word == "all" => QueueSelection::All,
            Some(RawQueues::Word(word)) => {
                return Err(FieldError::new(
                    "queues",
                    format!("{word:?} is neither `all` nor a list of queue ids"),
                ));
            }
            Some(RawQueues::Ids(ids)) => QueueSelection::Ids(check_ids(ids, "queues", "queue")?),
        };
        let media_types = self.media_types.unwrap_or_default();
        for (i, media) in media_types.iter().enumerate() {
            if !MEDIA_TYPES.contains(&media.as_str()) {
                let hint = match catalog::closest(&MEDIA_TYPES, media) {
                    Some(close) => format!(" (did you mean {close:?}?)"),
                    None => String::new(),
                };
                return Err(FieldError::new(
                    format!("media_types[{i}]"),
                    format!(
                        "{media:?} is not a Genesys media type{hint}; expected one of {}",
                        MEDIA_TYPES.join(", ")
                    ),
                ));
            }
            if media_types[..i].contains(media) {
                return Err(FieldError::new(
                    format!("media_types[{i}]"),
                    format!("{media:?} is listed twice"),
                ));
            }
        }
        let max_queues_per_request = match self.max_queues_per_request {
            None => MAX_QUEUES_PER_REQUEST,
            Some(n) if (1..=MAX_QUEUES_PER_REQUEST).contains(&n) => n,
            Some(n) => {
                return Err(FieldError::new(
                    "max_queues_per_request",
                    format!(
                        "{n} is outside 1..={MAX_QUEUES_PER_REQUEST}; Genesys takes at most \
                         {MAX_QUEUES_PER_REQUEST} queue ids a request"
                    ),
                ));
            }
        };
        let presence_ids = self.presence_ids.unwrap_or(false);
        if presence_ids && !metrics.iter().any(|m| m == "oUserPresences") {
            return Err(FieldError::new(
                "presence_ids",
                "is true, but `metrics` has no oUserPresences to split by presence id; \
                 add oUserPresences or drop presence_ids",
            ));
        }
        let (transport, reconcile) = check_transport(self.transport, self.reconcile)?;
        Ok(ObservationSet::Queues(ObservationConfig {
            name,
            refresh,
            metrics,
            detail_metrics,
            queues,
            media_types,
            max_queues_per_request,
            presence_ids,
            transport,
            reconcile,
        }))
    }
}

/// `transport` and `reconcile` of either kind of set: `reconcile` only for a pushed set, at least 10 s (it
/// is a REST poll, under the same floor as `refresh`).
pub(super) fn check_transport(
    transport: Option<String>,
    reconcile: Option<String>,
) -> Result<(Transport, Duration), FieldError> {
    let transport = match transport.as_deref().map(str::trim) {
        None | Some("poll") => Transport::Poll,
        Some("push") => Transport::Push,
        Some("auto") => Transport::Auto,
        Some(other) => {
            return Err(FieldError::new(
                "transport",
                format!(
                    "{other:?} is not a transport; expected poll (REST every refresh), push \
                     (the Notifications API, REST every reconcile) or auto (push, polling \
                     every refresh while push is down)"
                ),
            ));
        }
    };
    let reconcile = match reconcile {
        None => DEFAULT_RECONCILE,
        Some(_) if !transport.is_pushed() => {
            return Err(FieldError::new(
                "reconcile",
                "is only for pushed sets; add `transport: push` (or auto), or drop reconcile",
            ));
        }
        Some(text) => {
            check_refresh(&text, "5m").map_err(|e| FieldError::new("reconcile", e.message))?
        }
    };
    Ok((transport, reconcile))
}

/// Pushed sets together fit Genesys' channels less the handover spare; the run-time
/// budget (`--push.max-channels`) is checked again where it is known (start-up,
/// reload).
pub(super) fn check_channel_limit(
    sets: &[ObservationConfig],
    agents: &[AgentSetConfig],
) -> Result<(), String> {
    check_channel_budget(&channel_needs(sets, agents), MAX_CHANNELS - 1)
}

/// The notification channels each pushed set needs, queue sets then agents sets, in
/// config order (a set over `all` queues, or an agents set, counts one until its queues
/// or agents are listed); polled sets need none and are left out.
pub fn channel_needs(
    sets: &[ObservationConfig],
    agents: &[AgentSetConfig],
) -> Vec<(String, usize)> {
    let queue_sets = sets
        .iter()
        .filter(|set| set.transport.is_pushed())
        .map(|set| {
            let queues = match &set.queues {
                QueueSelection::Ids(ids) => ids.len(),
                QueueSelection::All => 1,
            };
            (set.name.clone(), set.channels_for(queues))
        });
    let agent_sets = agents
        .iter()
        .filter(|set| set.transport.is_pushed())
        .map(|set| (set.name.clone(), set.channels_at_least()));
    queue_sets.chain(agent_sets).collect()
}

/// The pushed sets (`needs`, from [`channel_needs`]) together fit the channels the
/// budget leaves them, `for_sets`: its limit less the handover spare (docs/push.md,
/// "The channel budget"). The error names every pushed set and what it needs. At run
/// time a set over `all` that needs more than is left polls the rest instead.
pub fn check_channel_budget(needs: &[(String, usize)], for_sets: usize) -> Result<(), String> {
    let total: usize = needs.iter().map(|(_, channels)| channels).sum();
    if total <= for_sets {
        return Ok(());
    }
    let each: Vec<String> = needs
        .iter()
        .map(|(name, channels)| format!("{name:?} {channels}"))
        .collect();
    Err(format!(
        "the pushed sets need {total} notification channels together ({}), more than the \
         {for_sets} they may hold: the channel budget is {} (Genesys allows {MAX_CHANNELS} an \
         OAuth client; --push.max-channels may lower it), one kept for handovers; a channel \
         takes {MAX_TOPICS_PER_CHANNEL} topics, one topic a queue, a set over `all` at least \
         one; push fewer queues or poll some sets",
        each.join(", "),
        for_sets + 1,
    ))
}

/// Every name is an observation metric, listed once; an aggregates metric gets a
/// pointer to `queries`.
fn check_metric_list(metrics: &[String], field: &str) -> Result<(), FieldError> {
    for (i, metric) in metrics.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Lookup::Unlisted { closest } = catalog::lookup(OBSERVATION_METRICS, metric) {
            let message = if catalog::is_conversation_metric(metric) {
                format!(
                    "{metric:?} is a conversation aggregates metric, not a queue \
                     observation metric; put it in a `queries` entry"
                )
            } else {
                let hint = closest.map_or(String::new(), |c| format!(" (did you mean {c:?}?)"));
                format!(
                    "{metric:?} is not a queue observation metric{hint}; expected one of {}",
                    OBSERVATION_METRICS.join(", ")
                )
            };
            return Err(FieldError::new(at, message));
        }
        if let Some(first) = metrics[..i].iter().position(|m| m == metric) {
            return Err(FieldError::new(
                at,
                format!("{metric:?} is listed twice (also {field}[{first}])"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::validate::is_uuid;
    use super::*;
    use crate::config::Config;

    #[test]
    fn an_observation_set_alone_is_a_config_with_the_documented_defaults() {
        let config = Config::from_yaml(
            "observations:\n  - {name: live, metrics: [oWaiting, oInteracting], detail_metrics: [oWaiting]}\n",
            "test.yaml",
        )
        .unwrap();
        assert!(config.queries.is_empty());
        let live = &config.observations[0];
        assert_eq!(live.refresh, DEFAULT_OBSERVATION_REFRESH);
        assert_eq!(live.queues, QueueSelection::All);
        assert_eq!(live.max_queues_per_request, 100);
        assert_eq!(live.zero_fill_media_types(), DEFAULT_MEDIA_TYPES);
        assert_eq!(live.detail_metrics, ["oWaiting"]);
    }

    #[test]
    fn observation_sets_round_trip_through_yaml() {
        let config = Config::from_yaml(
            "queries:\n  - {name: q, granularity: PT30M, metrics: [nOffered]}\nobservations:\n  - name: live\n    refresh: 15s\n    metrics: [oWaiting, oUserPresences]\n    queues: [0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69, 0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69]\n    media_types: [voice, chat]\n    max_queues_per_request: 50\n  - {name: all, metrics: [oMemberUsers]}\n",
            "test.yaml",
        )
        .unwrap();
        assert_eq!(
            config.observations[0].queues,
            QueueSelection::Ids(vec!["0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69".into()])
        );
        let text = config.to_yaml().unwrap();
        assert_eq!(
            Config::from_yaml(&text, "again.yaml").unwrap(),
            config,
            "{text}"
        );
    }

    #[test]
    fn names_are_unique_across_observation_sets() {
        let err = Config::from_yaml(
            "observations:\n  - {name: live, metrics: [oWaiting]}\n  - {name: live, metrics: [oWaiting]}\n",
            "test.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("observations[1]") && err.contains("observations[0]"),
            "{err}"
        );
    }

    #[test]
    fn presence_ids_need_the_presence_metric() {
        let load = |metrics: &str, extra: &str| {
            Config::from_yaml(
                &format!("observations:\n  - {{name: live, metrics: [{metrics}]{extra}}}\n"),
                "test.yaml",
            )
        };
        let err = load("oWaiting, oMemberUsers", ", presence_ids: true")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("presence_ids") && err.contains("oUserPresences"),
            "{err}"
        );
        let config = load("oWaiting, oUserPresences", ", presence_ids: true").unwrap();
        assert!(config.observations[0].presence_ids);
        let text = config.to_yaml().unwrap();
        assert_eq!(
            Config::from_yaml(&text, "again.yaml").unwrap(),
            config,
            "{text}"
        );
        assert!(!load("oUserPresences", "").unwrap().observations[0].presence_ids);
    }

    #[test]
    fn transport_and_reconcile_are_checked() {
        let load = |extra: &str| {
            Config::from_yaml(
                &format!("observations:\n  - {{name: live, metrics: [oWaiting]{extra}}}\n"),
                "test.yaml",
            )
        };
        let polled = load("").unwrap();
        assert_eq!(polled.observations[0].transport, Transport::Poll);
        let pushed = load(", transport: push, reconcile: 2m").unwrap();
        assert_eq!(pushed.observations[0].transport, Transport::Push);
        assert_eq!(pushed.observations[0].reconcile, Duration::from_secs(120));
        let text = pushed.to_yaml().unwrap();
        assert_eq!(
            Config::from_yaml(&text, "again.yaml").unwrap(),
            pushed,
            "{text}"
        );
        assert_eq!(
            load(", transport: auto").unwrap().observations[0].reconcile,
            DEFAULT_RECONCILE
        );
        for (extra, words) in [
            (
                ", transport: pushed",
                ["transport", "\"pushed\" is not a transport"],
            ),
            (", reconcile: 5m", ["reconcile", "only for pushed sets"]),
            (
                ", transport: push, reconcile: 1s",
                ["reconcile", "10s minimum"],
            ),
        ] {
            let err = load(extra).unwrap_err().to_string();
            assert!(words.iter().all(|w| err.contains(w)), "{extra}: {err}");
        }
        // An agents set takes the same keys, checked alike.
        let agents = |extra: &str| {
            Config::from_yaml(
                &format!("observations:\n  - {{name: a, source: agents{extra}}}\n"),
                "test.yaml",
            )
        };
        let pushed = agents(", transport: auto, reconcile: 2m").unwrap();
        assert_eq!(pushed.agents[0].transport, Transport::Auto);
        assert_eq!(pushed.agents[0].reconcile, Duration::from_secs(120));
        let err = agents(", reconcile: 5m").unwrap_err().to_string();
        assert!(err.contains("only for pushed sets"), "{err}");
    }

    #[test]
    fn pushed_sets_are_refused_past_the_channel_limit() {
        let ids = |n: usize, from: usize| {
            (from..from + n)
                .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let two = |first: usize, second: usize, transport: &str| {
            Config::from_yaml(
                &format!(
                    "observations:\n  - {{name: a, metrics: [oWaiting], transport: push, queues: [{}]}}\n  - {{name: b, metrics: [oWaiting], transport: {transport}, queues: [{}]}}\n",
                    ids(first, 0),
                    ids(second, first)
                ),
                "test.yaml",
            )
        };
        // 18 channels and 1: the limit less the handover spare, exactly.
        assert!(two(17_001, 1_000, "push").is_ok());
        let err = two(18_001, 1_000, "push").unwrap_err().to_string();
        assert!(
            err.contains("need 20 notification channels together (\"a\" 19, \"b\" 1)")
                && err.contains("more than the 19"),
            "{err}"
        );
        // A set over `all` counts one until its queues are listed.
        let all = Config::from_yaml(
            &format!(
                "observations:\n  - {{name: a, metrics: [oWaiting], transport: push, queues: [{}]}}\n  - {{name: b, metrics: [oWaiting], transport: auto}}\n",
                ids(18_001, 0)
            ),
            "test.yaml",
        );
        assert!(all.unwrap_err().to_string().contains("\"b\" 1"));
        // A pushed agents set counts one too, beside the queue sets.
        let with_agents = Config::from_yaml(
            &format!(
                "observations:\n  - {{name: a, metrics: [oWaiting], transport: push, queues: [{}]}}\n  - {{name: agents_now, source: agents, transport: push}}\n",
                ids(18_001, 0)
            ),
            "test.yaml",
        );
        assert!(
            with_agents
                .unwrap_err()
                .to_string()
                .contains("(\"a\" 19, \"agents_now\" 1)")
        );
        assert_eq!(
            check_channel_budget(&[("a".into(), 2), ("b".into(), 2)], 3)
                .unwrap_err()
                .split(" (")
                .nth(1)
                .map(|s| s.starts_with("\"a\" 2, \"b\" 2)")),
            Some(true)
        );
        assert!(check_channel_budget(&[("a".into(), 2), ("b".into(), 1)], 3).is_ok());
        // A polled set needs no channel.
        assert!(two(19_000, 5_000, "poll").is_ok());
    }

    #[test]
    fn uuids() {
        assert!(is_uuid("0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69"));
        assert!(!is_uuid("0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a6"));
        assert!(!is_uuid("Billing"));
        assert!(!is_uuid("0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a6g"));
    }

    #[test]
    fn requests_per_refresh_round_up() {
        let raw: RawObservation =
            serde_yaml_ng::from_str("{name: live, metrics: [oWaiting]}").unwrap();
        let Ok(ObservationSet::Queues(mut config)) = raw.validate() else {
            panic!("not a queue set");
        };
        assert_eq!(config.requests_for(1000), 10);
        assert_eq!(config.requests_for(1001), 11);
        assert_eq!(config.requests_for(0), 0);
        config.max_queues_per_request = 30;
        assert_eq!(config.requests_for(100), 4);
    }
}
