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
//! ```
//!
//! Each refresh is one `POST /api/v2/analytics/agents/status/counts`, whatever the org's
//! size (see [`crate::genesys::agents`]).

use std::time::Duration;

use serde::Serialize;

use super::DEFAULT_OBSERVATION_REFRESH;
use super::validate::{FieldError, check_ids};
use crate::genesys::agents::GROUPINGS;
use crate::genesys::catalog;

/// The `source:` of an agents set.
pub const AGENTS_SOURCE: &str = "agents";
/// The `source:` values of observation sets: queue observations (the default) and
/// agents now.
pub const OBSERVATION_SOURCES: [&str; 2] = ["queues", AGENTS_SOURCE];
/// Keys only queue sets have, refused on an agents set by name.
pub const QUEUE_ONLY_KEYS: [&str; 7] = [
    "metrics",
    "detail_metrics",
    "media_types",
    "max_queues_per_request",
    "presence_ids",
    "transport",
    "reconcile",
];
/// Keys only agents sets have, refused on a queue set by name.
pub const AGENTS_ONLY_KEYS: [&str; 3] = ["group_by", "teams", "divisions"];

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
        }
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
}

impl RawAgentSet {
    pub(super) fn validate(self) -> Result<AgentSetConfig, FieldError> {
        let group_by = match self.group_by {
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
        })
    }
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
