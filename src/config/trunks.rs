//! The `trunks:` list: trunk sets, each watching every trunk the client can see.
//!
//! ```yaml
//! trunks:
//!   - name: trunks     # required; unique across every kind of entry
//!     refresh: 30s     # default 30s, at least 10s (as observation sets)
//! ```
//!
//! Each refresh lists the trunks (pages of 100) and asks their metrics, 100 ids a
//! request (see [`crate::genesys::trunks`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::DEFAULT_OBSERVATION_REFRESH;
use super::validate::{FieldError, check_name, check_refresh};

/// One trunk set, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct TrunkSetConfig {
    /// Unique across queries, observation sets and trunk sets: the `query` label of its
    /// series.
    pub name: String,
    /// How often the trunks are read (before any stretching to fit the budget).
    pub refresh: Duration,
}

impl TrunkSetConfig {
    /// `{name}`: every trunk, every 30 s.
    pub fn every_trunk(name: &str) -> TrunkSetConfig {
        TrunkSetConfig {
            name: name.into(),
            refresh: DEFAULT_OBSERVATION_REFRESH,
        }
    }

    /// The set as [`super::Config::to_yaml`] writes it.
    pub(super) fn written(&self) -> OutTrunkSet<'_> {
        OutTrunkSet {
            name: &self.name,
            refresh: humantime::format_duration(self.refresh).to_string(),
        }
    }
}

/// A trunk set for writing back as YAML.
#[derive(Serialize)]
pub(super) struct OutTrunkSet<'a> {
    name: &'a str,
    refresh: String,
}

/// A trunk set as written.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a trunk set: a mapping with keys name, refresh"
)]
pub(super) struct RawTrunkSet {
    #[serde(default)]
    pub(super) name: Option<String>,
    #[serde(default)]
    refresh: Option<String>,
}

impl RawTrunkSet {
    pub(super) fn validate(self) -> Result<TrunkSetConfig, FieldError> {
        let name = check_name(self.name, "trunk set")?;
        let refresh = match self.refresh {
            None => DEFAULT_OBSERVATION_REFRESH,
            Some(text) => check_refresh(&text, "30s")?,
        };
        Ok(TrunkSetConfig { name, refresh })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, ConfigError};

    #[test]
    fn a_name_alone_watches_every_trunk_every_30s_and_round_trips() {
        let config = Config::from_yaml("trunks:\n  - {name: trunks}\n", "t.yaml").unwrap();
        assert_eq!(config.trunks, [TrunkSetConfig::every_trunk("trunks")]);
        assert!(config.queries.is_empty() && config.observations.is_empty());
        let config = Config::from_yaml(
            "queries:\n  - {name: q, granularity: PT30M, metrics: [nOffered]}\ntrunks:\n  - {name: t, refresh: 1m}\n",
            "t.yaml",
        )
        .unwrap();
        let text = config.to_yaml().unwrap();
        assert_eq!(
            Config::from_yaml(&text, "again.yaml").unwrap(),
            config,
            "{text}"
        );
    }

    fn invalid(text: &str) -> (Option<String>, Option<String>, String) {
        match Config::from_yaml(text, "t.yaml").unwrap_err() {
            ConfigError::Invalid {
                query,
                field,
                message,
                ..
            }
            | ConfigError::Syntax {
                query,
                field,
                message,
                ..
            } => (query, field, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_values_name_the_set_and_the_field() {
        let (set, field, message) = invalid("trunks:\n  - {name: t, refresh: 2s}\n");
        assert_eq!(set.as_deref(), Some("trunk set \"t\""));
        assert_eq!(field.as_deref(), Some("refresh"));
        assert!(message.contains("10s minimum"), "{message}");
        let (_, field, _) = invalid("trunks:\n  - {refresh: 30s}\n");
        assert_eq!(field.as_deref(), Some("name"));
        let (_, field, message) = invalid("trunks:\n  - {name: t, edges: [a]}\n");
        assert_eq!(field.as_deref(), Some("trunks[0].edges"), "{message}");
        assert!(message.contains("unknown key"), "{message}");
    }

    #[test]
    fn names_are_unique_across_every_kind() {
        let (set, field, message) = invalid(
            "queries:\n  - {name: x, granularity: PT30M, metrics: [nOffered]}\ntrunks:\n  - {name: x}\n",
        );
        assert_eq!(set.as_deref(), Some("trunks[0]"));
        assert_eq!(field.as_deref(), Some("name"));
        assert!(message.contains("queries[0]"), "{message}");
        let (set, _, message) = invalid(
            "observations:\n  - {name: x, source: agents}\ntrunks:\n  - {name: y}\n  - {name: x}\n",
        );
        assert_eq!(set.as_deref(), Some("trunks[1]"));
        assert!(message.contains("observations[0]"), "{message}");
        let (_, _, message) = invalid("trunks:\n  - {name: y}\n  - {name: y}\n");
        assert!(message.contains("trunks[0]"), "{message}");
    }
}
