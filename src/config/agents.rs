//! Agents sets: observation sets with `source: agents`, counting the org's agents now.
//!
//! ```yaml
//! observations:
//!   - name: agents_now           # alone, this counts the whole org by every grouping
//!     source: agents
//!     refresh: 30s               # default 30s, at least 10s
//!     group_by: [routingStatus, presence, isOutOfOffice, segmentType]   # default: all
//!     queues: [<queue id>, ...]  # optional: agents of these queues only
//!     teams: [<team id>, ...]    # optional: of these teams only
//!     divisions: [<division id>, ...]   # optional: of these divisions only
//!     transport: poll            # or push, or auto (docs/push.md, "Agents")
//!     reconcile: 5m              # push and auto: the REST read that checks pushed state
//!     per_agent: false           # push and auto: a series per agent, labelled user_name
//!     per_queue: [<queue id>, ...]   # push and auto: agents active on each of these queues
//! ```
//!
//! Each refresh is one `POST /api/v2/analytics/agents/status/counts`, whatever the org's
//! size (see [`crate::genesys::agents`]). A pushed set follows every agent's
//! `v2.users.{id}.activity` instead and counts them itself; what an activity event does
//! not tell (the segment an agent is in) it cannot count, so `segmentType` is refused on
//! a pushed set, as are the filters, which the users listing that seeds it cannot apply.
//! `per_queue` counts a pushed set's agents again for each queue they are active on
//! (`activeQueueIds`), seeded by each queue's joined members.

use std::time::Duration;

use serde::Serialize;

use super::validate::{FieldError, check_ids};
use super::{DEFAULT_OBSERVATION_REFRESH, DEFAULT_RECONCILE, Transport};
use crate::genesys::agents::GROUPINGS;
use crate::genesys::catalog;

/// The `source:` of an agents set.
pub const AGENTS_SOURCE: &str = "agents";
/// The `source:` values of observation sets: queue observations (the default) and
/// agents now.
pub const OBSERVATION_SOURCES: [&str; 2] = ["queues", AGENTS_SOURCE];
/// Keys only queue sets have, refused on an agents set by name.
pub const QUEUE_ONLY_KEYS: [&str; 5] = [
    "metrics",
    "detail_metrics",
    "media_types",
    "max_queues_per_request",
    "presence_ids",
];
/// Keys only agents sets have, refused on a queue set by name.
pub const AGENTS_ONLY_KEYS: [&str; 5] =
    ["group_by", "teams", "divisions", "per_agent", "per_queue"];
/// The groupings a pushed set counts from its agents' activity (the default of a
/// pushed set's `group_by`): an activity event tells routing status, presence and out
/// of office, not the segment of a session.
pub const PUSHED_GROUPINGS: [&str; 3] = ["presence", "routingStatus", "isOutOfOffice"];

/// One agents set, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct AgentSetConfig {
    /// Unique across queries and observations: the `query` label of its series.
    pub name: String,
    /// How often the agents are counted (before any stretching to fit the budget).
    pub refresh: Duration,
    /// The `groupBy` values, in file order (every one when the file names none).
    pub group_by: Vec<String>,
    /// Agents of these queues only (none: every queue).
    pub queues: Vec<String>,
    /// Agents of these teams only.
    pub teams: Vec<String>,
    /// Agents of these divisions only.
    pub divisions: Vec<String>,
    /// Counted by REST every `refresh`, or from the agents' pushed activity.
    pub transport: Transport,
    /// A pushed set's REST read, which counts and corrects what push got wrong.
    pub reconcile: Duration,
    /// A pushed set's series per agent (`genesys_agent_*`, labelled `user_name`): one
    /// to three series an agent, so opt-in.
    pub per_agent: bool,
    /// A pushed set's queues whose active agents are counted too
    /// (`genesys_agents_queue_*`), in file order; none: no per-queue series.
    pub per_queue: Vec<String>,
}

impl AgentSetConfig {
    /// `{name, source: agents}`: the whole org by every grouping, every 30 s.
    pub fn whole_org(name: &str) -> AgentSetConfig {
        AgentSetConfig {
            name: name.into(),
            refresh: DEFAULT_OBSERVATION_REFRESH,
            group_by: GROUPINGS.iter().map(|g| g.to_string()).collect(),
            queues: Vec::new(),
            teams: Vec::new(),
            divisions: Vec::new(),
            transport: Transport::Poll,
            reconcile: DEFAULT_RECONCILE,
            per_agent: false,
            per_queue: Vec::new(),
        }
    }

    /// The notification channels a pushed set needs at least (one, until its agents are
    /// listed: one topic an agent, 1,000 a channel); none for a polled one.
    pub fn channels_at_least(&self) -> usize {
        usize::from(self.transport.is_pushed())
    }

    /// Whether its series carry organization presences, whose names are worth listing.
    pub fn counts_presences(&self) -> bool {
        self.group_by.iter().any(|g| g == "presence")
    }

    /// The set as [`super::Config::to_yaml`] writes it.
    pub(super) fn written(&self) -> OutAgentSet<'_> {
        OutAgentSet {
            name: &self.name,
            source: AGENTS_SOURCE,
            refresh: humantime::format_duration(self.refresh).to_string(),
            group_by: &self.group_by,
            queues: &self.queues,
            teams: &self.teams,
            divisions: &self.divisions,
            transport: self
                .transport
                .is_pushed()
                .then_some(self.transport.as_str()),
            reconcile: self
                .transport
                .is_pushed()
                .then(|| humantime::format_duration(self.reconcile).to_string()),
            per_agent: self.per_agent,
            per_queue: &self.per_queue,
        }
    }
}

/// An agents set for writing back as YAML.
#[derive(Serialize)]
pub(super) struct OutAgentSet<'a> {
    name: &'a str,
    source: &'static str,
    refresh: String,
    group_by: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    queues: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    teams: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    divisions: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    transport: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reconcile: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    per_agent: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    per_queue: &'a [String],
}

/// `source:` as written: `queues` (or none) or `agents`; anything else is refused with
/// the closest.
pub(super) fn check_source(source: Option<&str>) -> Result<bool, FieldError> {
    match source {
        None | Some("queues") => Ok(false),
        Some(AGENTS_SOURCE) => Ok(true),
        Some(other) => {
            let hint = catalog::closest(&OBSERVATION_SOURCES, other)
                .map_or(String::new(), |c| format!(" (did you mean {c:?}?)"));
            Err(FieldError::new(
                "source",
                format!(
                    "{other:?} is not an observation source{hint}; expected `queues` (queue \
                     observations, the default) or `agents` (agents now)"
                ),
            ))
        }
    }
}

/// Refuses the keys `present` that the other kind of set has (`keys`), naming the first.
pub(super) fn refuse_keys(
    present: &[(&'static str, bool)],
    agents: bool,
) -> Result<(), FieldError> {
    let Some((key, _)) = present.iter().find(|(_, given)| *given) else {
        return Ok(());
    };
    let message = if agents {
        format!(
            "is a queue observation key, which an agents set (source: agents) does not take; \
             it counts agents by `group_by` ({}), optionally of some `queues`, `teams` or \
             `divisions`",
            GROUPINGS.join(", ")
        )
    } else {
        format!(
            "is a key of agents sets; add `source: agents` to count agents, or drop `{key}` \
             from this queue observation set"
        )
    };
    Err(FieldError::new(*key, message))
}

/// The agents-set keys, validated.
pub(super) struct RawAgentSet {
    pub name: String,
    pub refresh: Duration,
    pub group_by: Option<Vec<String>>,
    pub queues: Option<Vec<String>>,
    pub teams: Option<Vec<String>>,
    pub divisions: Option<Vec<String>>,
    /// `transport` and `reconcile`, checked as a queue set's.
    pub transport: (Transport, Duration),
    pub per_agent: Option<bool>,
    pub per_queue: Option<Vec<String>>,
}

impl RawAgentSet {
    pub(super) fn validate(self) -> Result<AgentSetConfig, FieldError> {
        let (transport, reconcile) = self.transport;
        let pushed = transport.is_pushed();
        let group_by = match self.group_by {
            None if pushed => PUSHED_GROUPINGS.iter().map(|g| g.to_string()).collect(),
            None => GROUPINGS.iter().map(|g| g.to_string()).collect(),
            Some(list) if list.is_empty() => {
                return Err(FieldError::new(
                    "group_by",
                    format!(
                        "is empty; leave it out to count by every grouping, or name some of {}",
                        GROUPINGS.join(", ")
                    ),
                ));
            }
            Some(list) => check_groupings(list)?,
        };
        if pushed {
            check_pushed(&group_by, &self.queues, &self.teams, &self.divisions)?;
        }
        let per_agent = self.per_agent.unwrap_or(false);
        if per_agent && !pushed {
            return Err(FieldError::new(
                "per_agent",
                "is only for pushed agents sets (a series per agent is affordable only from \
                 pushed activity); add `transport: push` (or auto), or drop per_agent",
            ));
        }
        if self.per_queue.is_some() && !pushed {
            return Err(FieldError::new(
                "per_queue",
                "is only for pushed agents sets (it counts the agents' activeQueueIds, which \
                 only pushed activity tells); add `transport: push` (or auto), or count agents \
                 of some queues in a polled set with `queues`",
            ));
        }
        let ids = |list: Option<Vec<String>>, field: &str, what: &str| match list {
            None => Ok(Vec::new()),
            Some(list) => check_ids(list, field, what),
        };
        Ok(AgentSetConfig {
            name: self.name,
            refresh: self.refresh,
            group_by,
            queues: ids(self.queues, "queues", "queue")?,
            teams: ids(self.teams, "teams", "team")?,
            divisions: ids(self.divisions, "divisions", "division")?,
            transport,
            reconcile,
            per_agent,
            per_queue: ids(self.per_queue, "per_queue", "queue")?,
        })
    }
}

/// What a pushed set cannot do: count segments (no activity event tells them), or
/// filter by queue, team or division (the users listing that seeds and reconciles it
/// lists the whole org).
fn check_pushed(
    group_by: &[String],
    queues: &Option<Vec<String>>,
    teams: &Option<Vec<String>>,
    divisions: &Option<Vec<String>>,
) -> Result<(), FieldError> {
    if let Some(i) = group_by
        .iter()
        .position(|g| !PUSHED_GROUPINGS.contains(&g.as_str()))
    {
        return Err(FieldError::new(
            format!("group_by[{i}]"),
            format!(
                "{:?} cannot be counted from pushed agent activity, which tells only {}; \
                 count it in a polled agents set (transport: poll)",
                group_by[i],
                PUSHED_GROUPINGS.join(", ")
            ),
        ));
    }
    for (key, given) in [
        ("queues", queues.is_some()),
        ("teams", teams.is_some()),
        ("divisions", divisions.is_some()),
    ] {
        if given {
            return Err(FieldError::new(
                key,
                "cannot narrow a pushed agents set, which follows every agent of the org \
                 (the users listing that seeds it takes no such filter); drop it, or poll \
                 this set (transport: poll)",
            ));
        }
    }
    Ok(())
}

/// Every entry a `groupBy` value the endpoint takes, listed once.
fn check_groupings(list: Vec<String>) -> Result<Vec<String>, FieldError> {
    for (i, grouping) in list.iter().enumerate() {
        let field = format!("group_by[{i}]");
        if !GROUPINGS.contains(&grouping.as_str()) {
            let hint = catalog::closest(&GROUPINGS, grouping)
                .map_or(String::new(), |c| format!(" (did you mean {c:?}?)"));
            return Err(FieldError::new(
                field,
                format!(
                    "{grouping:?} is not a grouping of agent counts{hint}; expected some of {}",
                    GROUPINGS.join(", ")
                ),
            ));
        }
        if list[..i].contains(grouping) {
            return Err(FieldError::new(
                field,
                format!("{grouping:?} is listed twice"),
            ));
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn a_name_and_the_source_alone_count_the_whole_org_by_every_grouping() {
        let config = Config::from_yaml(
            "observations:\n  - {name: agents_now, source: agents}\n",
            "test.yaml",
        )
        .unwrap();
        assert!(config.observations.is_empty());
        assert_eq!(config.agents, [AgentSetConfig::whole_org("agents_now")]);
    }

    #[test]
    fn agents_sets_round_trip_through_yaml() {
        let config = Config::from_yaml(
            "observations:\n  - {name: a, source: agents, refresh: 15s, group_by: [presence], teams: [0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69]}\n  - {name: live, metrics: [oWaiting]}\n",
            "test.yaml",
        )
        .unwrap();
        let text = config.to_yaml().unwrap();
        assert_eq!(
            Config::from_yaml(&text, "again.yaml").unwrap(),
            config,
            "{text}"
        );
    }

    #[test]
    fn a_pushed_set_counts_what_activity_tells_and_names_what_it_cannot() {
        let load = |extra: &str| {
            Config::from_yaml(
                &format!("observations:\n  - {{name: a, source: agents{extra}}}\n"),
                "test.yaml",
            )
        };
        let pushed = load(", transport: push, per_agent: true").unwrap();
        let set = &pushed.agents[0];
        assert_eq!(set.group_by, PUSHED_GROUPINGS);
        assert!(set.per_agent);
        assert_eq!(set.channels_at_least(), 1);
        let text = pushed.to_yaml().unwrap();
        assert_eq!(
            Config::from_yaml(&text, "again.yaml").unwrap(),
            pushed,
            "{text}"
        );
        for (extra, words) in [
            (
                ", transport: push, group_by: [routingStatus, segmentType]",
                &[
                    "group_by[1]",
                    "\"segmentType\" cannot be counted from pushed",
                ][..],
            ),
            (
                ", transport: auto, teams: [0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69]",
                &["teams", "cannot narrow a pushed agents set"],
            ),
            (
                ", per_agent: true",
                &["per_agent", "only for pushed agents sets"],
            ),
            (
                ", metrics: [oWaiting]",
                &["metrics", "queue observation key"],
            ),
        ] {
            let err = load(extra).unwrap_err().to_string();
            assert!(words.iter().all(|w| err.contains(w)), "{extra}: {err}");
        }
        // The keys of pushed agents sets, refused on a queue set by name.
        for (key, value) in [
            ("per_agent", "true"),
            ("per_queue", "[0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69]"),
        ] {
            let err = Config::from_yaml(
                &format!("observations:\n  - {{name: q, metrics: [oWaiting], {key}: {value}}}\n"),
                "test.yaml",
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(key) && err.contains("source: agents"), "{err}");
        }
    }

    #[test]
    fn per_queue_is_a_pushed_sets_list_of_queue_ids() {
        const Q1: &str = "0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69";
        const Q2: &str = "1c8d6f7b-3a2e-4d4c-8b9f-2a3e4d5c6b70";
        let load = |extra: &str| {
            Config::from_yaml(
                &format!("observations:\n  - {{name: a, source: agents{extra}}}\n"),
                "test.yaml",
            )
        };
        let pushed = load(&format!(", transport: auto, per_queue: [{Q2}, {Q1}, {Q2}]")).unwrap();
        // File order kept, repeats dropped; the queues' names are then worth listing.
        assert_eq!(pushed.agents[0].per_queue, [Q2, Q1]);
        assert!(
            crate::config::named_dimensions(&[], &[], &pushed.agents, &[]).any(|d| d == "queueId")
        );
        let text = pushed.to_yaml().unwrap();
        assert_eq!(
            Config::from_yaml(&text, "again.yaml").unwrap(),
            pushed,
            "{text}"
        );
        let plain = load(", transport: push").unwrap();
        assert!(plain.agents[0].per_queue.is_empty());
        assert!(!plain.to_yaml().unwrap().contains("per_queue"));
        for (extra, words) in [
            (
                format!(", per_queue: [{Q1}]"),
                &["per_queue", "only for pushed agents sets", "queues"][..],
            ),
            (
                ", transport: push, per_queue: []".to_string(),
                &["per_queue", "empty list", "queue ids"],
            ),
            (
                format!(", transport: push, per_queue: [{Q1}, Billing]"),
                &["per_queue[1]", "\"Billing\" is not a queue id"],
            ),
            (
                format!(", transport: push, queues: [{Q1}], per_queue: [{Q1}]"),
                &["queues", "cannot narrow a pushed agents set"],
            ),
        ] {
            let err = load(&extra).unwrap_err().to_string();
            assert!(words.iter().all(|w| err.contains(w)), "{extra}: {err}");
        }
    }

    #[test]
    fn names_are_unique_across_both_kinds_of_set() {
        let err = Config::from_yaml(
            "observations:\n  - {name: x, metrics: [oWaiting]}\n  - {name: x, source: agents}\n",
            "test.yaml",
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("observations[1]") && err.contains("observations[0]"),
            "{err}"
        );
    }
}
