//! Voice quality sets (`voice_quality:`): the voice conversations of each completed
//! interval, read from the conversation details query and exported as MOS, packet and
//! latency aggregates (see [`crate::mapping::voice`]).
//!
//! ```yaml
//! voice_quality:
//!   - name: voice            # unique across queries and observation sets
//!     granularity: PT15M     # as queries
//!     time_zone: UTC         # optional, as queries
//!     settle_delay: 2m       # optional, as queries (default 90s)
//!     group_by: [queue]      # optional, default [queue]; any of queue, direction, edge, codec
//!     threshold: 3.5         # optional, default 3.5; MOS under it counts as poor, 1 to 5
//!     page_size: 100         # optional, default and most: the details query's page size
//! ```
//!
//! `{name, granularity}` alone is a complete set. None runs unless configured: every
//! voice call of an interval costs its share of a page.

use std::time::Duration;

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::validate::{FieldError, check_name, check_settle_delay, parse_time_zone};
use super::{ConfigError, DEFAULT_SETTLE_DELAY};
use crate::genesys::catalog;
use crate::genesys::details::MAX_PAGE_SIZE;
use crate::interval::Granularity;

/// The MOS under which a call counts as poor, unless the set says otherwise.
pub const DEFAULT_THRESHOLD: f64 = 3.5;

/// The `group_by` keys, in the order of [`VoiceGroup`].
const GROUP_KEYS: [&str; 4] = ["queue", "direction", "edge", "codec"];

/// What a set's conversations can be grouped by, in the order of their labels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VoiceGroup {
    /// The queue of the ACD segment: labels `queue_id`, `queue_name`.
    Queue,
    /// `originatingDirection`: label `direction`.
    Direction,
    /// The customer session's edge: label `edge_id`.
    Edge,
    /// The customer session's first codec: label `codec`.
    Codec,
}

impl VoiceGroup {
    /// Every grouping, in label order.
    pub const ALL: [VoiceGroup; 4] = [
        VoiceGroup::Queue,
        VoiceGroup::Direction,
        VoiceGroup::Edge,
        VoiceGroup::Codec,
    ];

    /// As written in `group_by`.
    pub fn key(self) -> &'static str {
        GROUP_KEYS[self as usize]
    }
}

/// One voice quality set, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct VoiceSetConfig {
    /// Unique across every entry of the file: the `query` label of its series.
    pub name: String,
    /// Bucket size; one completed bucket is polled at a time.
    pub granularity: Granularity,
    /// Zone the buckets align to.
    pub time_zone: Tz,
    /// Wait after a bucket ends before it is polled.
    pub settle_delay: Duration,
    /// Groupings, in label order, each once.
    pub group_by: Vec<VoiceGroup>,
    /// A conversation whose minimum MOS is under this counts as below the threshold.
    pub threshold: f64,
    /// Conversations a page (1 to [`MAX_PAGE_SIZE`]).
    pub page_size: u32,
}

impl VoiceSetConfig {
    /// `{name, granularity}`: grouped by queue, threshold 3.5, in UTC, the default
    /// settle delay, full pages.
    pub fn by_queue(name: &str, granularity: Granularity) -> VoiceSetConfig {
        VoiceSetConfig {
            name: name.into(),
            granularity,
            time_zone: Tz::UTC,
            settle_delay: DEFAULT_SETTLE_DELAY,
            group_by: vec![VoiceGroup::Queue],
            threshold: DEFAULT_THRESHOLD,
            page_size: MAX_PAGE_SIZE,
        }
    }

    /// Whether its series carry queue names.
    pub fn names_queues(&self) -> bool {
        self.group_by.contains(&VoiceGroup::Queue)
    }

    /// The set as [`super::Config::to_yaml`] writes it.
    pub(super) fn written(&self) -> OutVoiceSet<'_> {
        OutVoiceSet {
            name: &self.name,
            granularity: self.granularity.as_iso8601(),
            time_zone: self.time_zone.name(),
            settle_delay: humantime::format_duration(self.settle_delay).to_string(),
            group_by: self.group_by.iter().map(|g| g.key()).collect(),
            threshold: self.threshold,
            page_size: self.page_size,
        }
    }
}

/// A voice quality set for writing back as YAML.
#[derive(Serialize)]
pub(super) struct OutVoiceSet<'a> {
    name: &'a str,
    granularity: String,
    time_zone: &'a str,
    settle_delay: String,
    group_by: Vec<&'static str>,
    threshold: f64,
    page_size: u32,
}

/// An entry of `voice_quality:` as written.
#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a voice quality set: a mapping with keys name, granularity, time_zone, \
        settle_delay, group_by, threshold, page_size"
)]
pub(super) struct RawVoiceSet {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    granularity: Option<String>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    settle_delay: Option<String>,
    #[serde(default)]
    group_by: Option<Vec<String>>,
    #[serde(default)]
    threshold: Option<f64>,
    #[serde(default)]
    page_size: Option<u64>,
}

/// Validates every set of `voice_quality:`; `taken` says which entry of the file
/// already has a name (`queries[0]`, `observations[2]`), if any. An error names the
/// file, the set and the field.
pub(super) fn validate_sets(
    raw: Vec<RawVoiceSet>,
    origin: &str,
    taken: impl Fn(&str) -> Option<String>,
) -> Result<Vec<VoiceSetConfig>, ConfigError> {
    let mut sets: Vec<VoiceSetConfig> = Vec::with_capacity(raw.len());
    for (index, set) in raw.into_iter().enumerate() {
        let label = match set.name.as_deref() {
            Some(name) if super::is_valid_name(name) => format!("voice_quality set {name:?}"),
            _ => format!("voice_quality[{index}]"),
        };
        let invalid = |error: FieldError| ConfigError::Invalid {
            origin: origin.into(),
            query: Some(label.clone()),
            field: Some(error.field),
            message: error.message,
        };
        if let Some(name) = set.name.as_deref() {
            let first = taken(name).or_else(|| {
                sets.iter()
                    .position(|s| s.name == name)
                    .map(|i| format!("voice_quality[{i}]"))
            });
            if let Some(first) = first {
                return Err(invalid(FieldError::new(
                    "name",
                    format!(
                        "{name:?} is already the name of {first}; names must be unique across \
                         the file because they become the `query` label"
                    ),
                )));
            }
        }
        sets.push(set.validate().map_err(invalid)?);
    }
    Ok(sets)
}

impl RawVoiceSet {
    fn validate(self) -> Result<VoiceSetConfig, FieldError> {
        let name = check_name(self.name, "voice quality set")?;
        let granularity = match self.granularity {
            None => {
                return Err(FieldError::new(
                    "granularity",
                    "missing; expected an ISO-8601 bucket size such as PT15M, PT30M or PT1H",
                ));
            }
            Some(text) => Granularity::parse(&text)
                .map_err(|e| FieldError::new("granularity", e.to_string()))?,
        };
        let mut set = VoiceSetConfig::by_queue(&name, granularity);
        if let Some(text) = self.time_zone {
            set.time_zone = parse_time_zone(&text).map_err(|m| FieldError::new("time_zone", m))?;
        }
        if let Some(text) = self.settle_delay {
            set.settle_delay = check_settle_delay(&text)?;
        }
        if let Some(group_by) = self.group_by {
            set.group_by = check_group_by(&group_by)?;
        }
        if let Some(threshold) = self.threshold {
            if !(1.0..=5.0).contains(&threshold) {
                return Err(FieldError::new(
                    "threshold",
                    format!(
                        "{threshold} is out of range; expected a MOS from 1.0 to 5.0 (default \
                         {DEFAULT_THRESHOLD}): calls whose minimum MOS is under it count as poor"
                    ),
                ));
            }
            set.threshold = threshold;
        }
        if let Some(size) = self.page_size {
            if !(1..=u64::from(MAX_PAGE_SIZE)).contains(&size) {
                return Err(FieldError::new(
                    "page_size",
                    format!(
                        "{size} is out of range; expected 1 to {MAX_PAGE_SIZE}, the details \
                         query's largest page (the default)"
                    ),
                ));
            }
            set.page_size = size as u32;
        }
        Ok(set)
    }
}

/// `group_by`: known groupings, each once, kept in label order.
fn check_group_by(written: &[String]) -> Result<Vec<VoiceGroup>, FieldError> {
    let mut groups = Vec::with_capacity(written.len());
    for (index, text) in written.iter().enumerate() {
        let field = format!("group_by[{index}]");
        let Some(group) = VoiceGroup::ALL.into_iter().find(|g| g.key() == text) else {
            let hint = catalog::closest(&GROUP_KEYS, text)
                .map_or(String::new(), |c| format!(" (did you mean {c:?}?)"));
            return Err(FieldError::new(
                field,
                format!(
                    "{text:?} is not a voice grouping{hint}; expected any of {}",
                    GROUP_KEYS.join(", ")
                ),
            ));
        };
        if groups.contains(&group) {
            return Err(FieldError::new(field, format!("{text:?} is listed twice")));
        }
        groups.push(group);
    }
    groups.sort_unstable();
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn error(text: &str) -> String {
        match Config::from_yaml(text, "voice.yml") {
            Ok(config) => panic!("accepted: {config:?}"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn name_and_granularity_alone_are_a_complete_set() {
        let config = Config::from_yaml(
            "voice_quality:\n  - {name: v, granularity: PT15M}\n",
            "v.yml",
        )
        .unwrap();
        assert!(config.queries.is_empty());
        assert_eq!(
            config.voice_quality,
            [VoiceSetConfig::by_queue("v", Granularity::Minutes(15))]
        );
        assert_eq!(config.voice_quality[0].threshold, 3.5);
        assert_eq!(config.voice_quality[0].page_size, 100);
    }

    #[test]
    fn every_field_is_read_and_written_back() {
        let text = "voice_quality:\n  - {name: v, granularity: PT30M, time_zone: Europe/London, \
                    settle_delay: 2m, group_by: [codec, queue, edge, direction], threshold: 3.1, \
                    page_size: 50}\n";
        let config = Config::from_yaml(text, "v.yml").unwrap();
        let set = &config.voice_quality[0];
        assert_eq!(set.group_by, VoiceGroup::ALL);
        assert_eq!(set.settle_delay, Duration::from_secs(120));
        assert_eq!(set.page_size, 50);
        assert_eq!(set.time_zone, chrono_tz::Europe::London);
        let again = Config::from_yaml(&config.to_yaml().unwrap(), "again.yml").unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn bad_sets_are_refused_naming_file_set_and_field() {
        let cases = [
            (
                "voice_quality:\n  - {name: v}\n",
                "voice.yml: voice_quality set \"v\": field `granularity`: missing",
            ),
            (
                "voice_quality:\n  - {name: v, granularity: PT15M, threshold: 6}\n",
                "voice.yml: voice_quality set \"v\": field `threshold`: 6 is out of range",
            ),
            (
                "voice_quality:\n  - {name: v, granularity: PT15M, group_by: [queues]}\n",
                "field `group_by[0]`: \"queues\" is not a voice grouping (did you mean \"queue\"?)",
            ),
            (
                "voice_quality:\n  - {name: v, granularity: PT15M, group_by: [edge, edge]}\n",
                "field `group_by[1]`: \"edge\" is listed twice",
            ),
            (
                "voice_quality:\n  - {name: v, granularity: PT15M, page_size: 101}\n",
                "field `page_size`: 101 is out of range; expected 1 to 100",
            ),
            (
                "voice_quality:\n  - {name: v, granularity: PT15M, settle_delay: 2h}\n",
                "field `settle_delay`: \"2h\" is longer than the 1h maximum",
            ),
            (
                "voice_quality:\n  - {granularity: PT15M}\n",
                "voice.yml: voice_quality[0]: field `name`: missing",
            ),
            (
                "queries:\n  - {name: v, granularity: PT30M, metrics: [nOffered]}\nvoice_quality:\n  - {name: v, granularity: PT15M}\n",
                "field `name`: \"v\" is already the name of queries[0]",
            ),
            (
                "voice_quality:\n  - {name: v, granularity: PT15M}\n  - {name: v, granularity: PT30M}\n",
                "\"v\" is already the name of voice_quality[0]",
            ),
            (
                "voice_quality:\n  - {name: v, granularity: PT15M, treshold: 3}\n",
                "voice.yml:2:35: field `voice_quality[0].treshold`: unknown key; expected one of",
            ),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(message.contains(expected), "{text}\n  gave {message}");
        }
    }
}
