//! The voice conversations of one interval (conversation details) to `genesys_voice_*`
//! gauges: a histogram of each conversation's minimum MOS, the conversations under the
//! set's threshold, the customer's packets received and lost, and the highest latency.
//!
//! Pure. A conversation counts in the interval its `conversationEnd` falls in (its MOS
//! is final then): one still in progress waits for a later poll, one that ended before
//! the interval (the details query returns every conversation with activity in it) was
//! counted in its own. Conversations without a MOS are left out of the histogram and the
//! threshold count, but their packets count. Nothing that identifies a conversation or
//! a person (ids, addresses, names) reaches a label or a log: only the set's groupings.
//!
//! Groups (queue, direction, edge, codec, as the set says) are remembered for 24 hours
//! like the aggregates' ([`GroupMemory`]): a group without conversations in an interval
//! reads 0 for its counts and packets; its `max_latency_seconds` is absent (there was no
//! call to measure). A conversation without a queue is in the group `queue_id=""`.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{GroupMemory, Mapped};
use crate::config::{VoiceGroup, VoiceSetConfig};
use crate::genesys::details::{Conversation, Session};
use crate::genesys::names::Names;
use crate::interval::Interval;
use crate::series::{Family, LabelSet, Labels, QuerySeries, Sample};

/// The histogram's finite bucket bounds (MOS 1 to 5); `+Inf` follows.
pub const MOS_BUCKETS: [f64; 8] = [1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5];

/// Participant purposes whose voice session is the customer's.
const CUSTOMER_PURPOSES: [&str; 2] = ["customer", "external"];

/// What the conversations of one group add up to.
#[derive(Debug, Default)]
struct Tally {
    /// Conversations with a MOS at or under each bound of [`MOS_BUCKETS`], then all.
    cumulative: [u64; MOS_BUCKETS.len() + 1],
    mos_sum: f64,
    below: u64,
    received: f64,
    lost: f64,
    max_latency_ms: Option<f64>,
}

/// Maps the conversations of a details answer for `interval` to the set's series.
pub fn map_voice(
    set: &VoiceSetConfig,
    interval: &Interval,
    conversations: &[Conversation],
    names: &Names,
    memory: &mut GroupMemory,
) -> Mapped {
    let mut warnings = 0u64;
    let mut groups: BTreeMap<Vec<String>, Tally> = BTreeMap::new();
    for conversation in conversations {
        // In progress: counted once it has ended.
        let Some(end) = &conversation.conversation_end else {
            continue;
        };
        let Ok(end) = end.parse::<DateTime<Utc>>() else {
            warnings += 1;
            continue;
        };
        if end < interval.start || end >= interval.end {
            continue;
        }
        let customer: Vec<&Session> = customer_sessions(conversation).collect();
        let key = set
            .group_by
            .iter()
            .map(|group| group_value(*group, conversation, &customer))
            .collect();
        add(
            groups.entry(key).or_default(),
            conversation,
            &customer,
            set.threshold,
        );
    }
    let seen: Vec<&Vec<String>> = groups.keys().collect();
    for quiet in memory.note(&seen, interval.end) {
        groups.insert(quiet, Tally::default());
    }
    Mapped {
        series: families(set, &groups, names),
        warnings,
    }
}

/// The customer's voice sessions (of the participants whose purpose is the customer's).
fn customer_sessions(conversation: &Conversation) -> impl Iterator<Item = &Session> {
    conversation
        .participants
        .iter()
        .filter(|p| {
            p.purpose
                .as_deref()
                .is_some_and(|purpose| CUSTOMER_PURPOSES.contains(&purpose))
        })
        .flat_map(|p| &p.sessions)
        .filter(|s| s.media_type.as_deref().is_none_or(|m| m == "voice"))
}

/// The value of `group` for a conversation (empty when it has none).
fn group_value(group: VoiceGroup, conversation: &Conversation, customer: &[&Session]) -> String {
    let found = match group {
        VoiceGroup::Queue => queue_of(conversation),
        VoiceGroup::Direction => conversation.originating_direction.as_deref(),
        VoiceGroup::Edge => customer.iter().find_map(|s| s.edge_id.as_deref()),
        VoiceGroup::Codec => customer
            .iter()
            .flat_map(|s| &s.media_endpoint_stats)
            .find_map(|stat| stat.codecs.as_ref()?.first())
            .map(String::as_str),
    };
    found.unwrap_or_default().to_string()
}

/// The queue of the ACD participant's `interact` segment, else of an agent's segment.
fn queue_of(conversation: &Conversation) -> Option<&str> {
    let queue_in = |purpose: &str, interact_only: bool| {
        conversation
            .participants
            .iter()
            .filter(|p| p.purpose.as_deref() == Some(purpose))
            .flat_map(|p| &p.sessions)
            .flat_map(|s| &s.segments)
            .filter(|segment| !interact_only || segment.segment_type.as_deref() == Some("interact"))
            .find_map(|segment| segment.queue_id.as_deref())
    };
    queue_in("acd", true).or_else(|| queue_in("agent", false))
}

/// Adds one ended conversation to its group's tally.
fn add(tally: &mut Tally, conversation: &Conversation, customer: &[&Session], threshold: f64) {
    if let Some(mos) = conversation.media_stats_min_conversation_mos {
        for (bound, count) in MOS_BUCKETS.iter().zip(&mut tally.cumulative) {
            if mos <= *bound {
                *count += 1;
            }
        }
        tally.cumulative[MOS_BUCKETS.len()] += 1;
        tally.mos_sum += mos;
        if mos < threshold {
            tally.below += 1;
        }
    }
    for stat in customer.iter().flat_map(|s| &s.media_endpoint_stats) {
        let packets = |value: Option<f64>| value.unwrap_or(0.0);
        tally.received += packets(stat.received_packets);
        // Overrun and underrun packets are counted in discarded already (SDK
        // `AnalyticsMediaEndpointStat`): not added again.
        tally.lost += packets(stat.discarded_packets) + packets(stat.invalid_packets);
        if let Some(latency) = stat.max_latency_ms {
            tally.max_latency_ms = Some(tally.max_latency_ms.map_or(latency, |m| m.max(latency)));
        }
    }
}

/// The label names of the set's groups: `query`, `interval`, then [`voice_label_names`].
fn label_names(set: &VoiceSetConfig) -> Vec<String> {
    let mut names = vec!["query".to_string(), "interval".to_string()];
    names.extend(voice_label_names(set));
    names
}

/// The labels of the set's groupings in the fixed order (`queue_id`, `queue_name`,
/// `direction`, `edge_id`, `codec`), those it groups by.
pub fn voice_label_names(set: &VoiceSetConfig) -> Vec<String> {
    let mut names = Vec::new();
    for group in &set.group_by {
        let labels: &[&str] = match group {
            VoiceGroup::Queue => &["queue_id", "queue_name"],
            VoiceGroup::Direction => &["direction"],
            VoiceGroup::Edge => &["edge_id"],
            VoiceGroup::Codec => &["codec"],
        };
        names.extend(labels.iter().map(|l| l.to_string()));
    }
    names
}

/// The families of every group, sorted by name.
fn families(
    set: &VoiceSetConfig,
    groups: &BTreeMap<Vec<String>, Tally>,
    names: &Names,
) -> QuerySeries {
    let plain: Vec<String> = label_names(set);
    let with = |extra: &str| {
        let mut labels = plain.clone();
        labels.push(extra.to_string());
        Arc::<[String]>::from(labels)
    };
    let (plain_names, le_names, threshold_names) = (
        Arc::<[String]>::from(plain.clone()),
        with("le"),
        with("threshold"),
    );
    let queue_names = names.table("queueId");
    let granularity = set.granularity.to_string();
    let threshold = format!("{}", set.threshold);
    let mut out = Builder::default();
    for (key, tally) in groups {
        let mut values = vec![set.name.clone(), granularity.clone()];
        for (group, value) in set.group_by.iter().zip(key) {
            values.push(value.clone());
            if *group == VoiceGroup::Queue {
                values.push(queue_names.get(value).cloned().unwrap_or_default());
            }
        }
        let labels: LabelSet = Arc::new(Labels::new(Arc::clone(&plain_names), values.clone()));
        let extended = |names: &Arc<[String]>, extra: String| {
            let mut values = values.clone();
            values.push(extra);
            Arc::new(Labels::new(Arc::clone(names), values))
        };
        let bounds = MOS_BUCKETS
            .iter()
            .map(|bound| format!("{bound}"))
            .chain(["+Inf".to_string()]);
        for (le, count) in bounds.zip(tally.cumulative) {
            out.push(BUCKET, extended(&le_names, le), count as f64);
        }
        out.push(SUM, Arc::clone(&labels), tally.mos_sum);
        out.push(
            COUNT,
            Arc::clone(&labels),
            tally.cumulative[MOS_BUCKETS.len()] as f64,
        );
        out.push(
            BELOW,
            extended(&threshold_names, threshold.clone()),
            tally.below as f64,
        );
        out.push(RECEIVED, Arc::clone(&labels), tally.received);
        out.push(LOST, Arc::clone(&labels), tally.lost);
        if let Some(latency) = tally.max_latency_ms {
            out.push(LATENCY, labels, latency / 1000.0);
        }
    }
    out.finish()
}

/// A family's name and help.
type Described = (&'static str, &'static str);

const BUCKET: Described = (
    "genesys_voice_mos_bucket",
    "Voice conversations that ended in the interval with a minimum MOS (mediaStatsMinConversationMos) at or under le",
);
const SUM: Described = (
    "genesys_voice_mos_sum",
    "Sum of the minimum MOS of the voice conversations that ended in the interval",
);
const COUNT: Described = (
    "genesys_voice_mos_count",
    "Voice conversations that ended in the interval with a MOS",
);
const BELOW: Described = (
    "genesys_voice_conversations_below_mos_threshold",
    "Voice conversations that ended in the interval with a minimum MOS under the threshold",
);
const RECEIVED: Described = (
    "genesys_voice_packets_received",
    "RTP packets received on the customer's side of the voice conversations that ended in the interval",
);
const LOST: Described = (
    "genesys_voice_packets_lost",
    "RTP packets discarded (jitter-buffer overruns and underruns among them) or invalid on the customer's side of the voice conversations that ended in the interval",
);
const LATENCY: Described = (
    "genesys_voice_max_latency_seconds",
    "Highest latency measured on the customer's side of the voice conversations that ended in the interval",
);

/// Families by name, in name order.
#[derive(Default)]
struct Builder {
    families: BTreeMap<&'static str, Family>,
}

impl Builder {
    fn push(&mut self, (name, help): Described, labels: LabelSet, value: f64) {
        self.families
            .entry(name)
            .or_insert_with(|| Family {
                name: name.into(),
                help: help.into(),
                samples: Vec::new(),
            })
            .samples
            .push(Sample { labels, value });
    }

    fn finish(self) -> QuerySeries {
        QuerySeries {
            families: self.families.into_values().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interval::Granularity;

    fn set(group_by: Vec<VoiceGroup>) -> VoiceSetConfig {
        VoiceSetConfig {
            group_by,
            ..VoiceSetConfig::by_queue("voice", Granularity::Minutes(15))
        }
    }

    fn interval() -> Interval {
        Interval::parse_iso8601("2026-12-06T10:00:00Z/2026-12-06T10:15:00Z").unwrap()
    }

    fn call(end: Option<&str>, queue: &str, mos: Option<f64>, lost: u64) -> Conversation {
        serde_json::from_value(serde_json::json!({
            "conversationId": "secret-id",
            "conversationEnd": end,
            "mediaStatsMinConversationMos": mos,
            "originatingDirection": "inbound",
            "participants": [
                {"purpose": "customer", "participantName": "Ann", "sessions": [{"mediaType": "voice",
                  "ani": "tel:+15551234", "edgeId": "edge-1",
                  "mediaEndpointStats": [{"codecs": ["opus"], "receivedPackets": 1000,
                    "discardedPackets": lost, "invalidPackets": 1, "overrunPackets": 0,
                    "underrunPackets": 0, "duplicatePackets": 7, "maxLatencyMs": 120}]}]},
                {"purpose": "acd", "sessions": [{"mediaType": "voice",
                  "segments": [{"segmentType": "interact", "queueId": queue}]}]}
            ]
        }))
        .unwrap()
    }

    fn value(series: &QuerySeries, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        series
            .families
            .iter()
            .find(|f| *f.name == *family)?
            .samples
            .iter()
            .find(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.pairs().any(|(n, x)| n == *k && x == *v))
            })
            .map(|s| s.value)
    }

    #[test]
    fn conversations_count_in_the_interval_they_ended_in() {
        let calls = [
            call(Some("2026-12-06T10:05:00.000Z"), "q1", Some(4.2), 3),
            call(Some("2026-12-06T10:14:59.999Z"), "q1", Some(2.9), 40),
            call(Some("2026-12-06T10:10:00Z"), "q1", None, 0),
            call(Some("2026-12-06T10:15:00.000Z"), "q1", Some(1.0), 0),
            call(Some("2026-12-06T09:59:00.000Z"), "q1", Some(1.0), 0),
            call(None, "q1", Some(1.0), 0),
        ];
        let mut memory = GroupMemory::default();
        let mapped = map_voice(
            &set(vec![VoiceGroup::Queue]),
            &interval(),
            &calls,
            &Names::default(),
            &mut memory,
        );
        let s = &mapped.series;
        let q1 = [
            ("queue_id", "q1"),
            ("query", "voice"),
            ("interval", "PT15M"),
        ];
        assert_eq!(value(s, "genesys_voice_mos_count", &q1), Some(2.0));
        assert_eq!(value(s, "genesys_voice_mos_sum", &q1), Some(4.2 + 2.9));
        let le = |bound: &str| {
            let mut labels = q1.to_vec();
            labels.push(("le", bound));
            value(s, "genesys_voice_mos_bucket", &labels)
        };
        assert_eq!(le("2.5"), Some(0.0));
        assert_eq!(le("3"), Some(1.0));
        assert_eq!(le("4.5"), Some(2.0));
        assert_eq!(le("+Inf"), Some(2.0));
        let mut below = q1.to_vec();
        below.push(("threshold", "3.5"));
        assert_eq!(
            value(s, "genesys_voice_conversations_below_mos_threshold", &below),
            Some(1.0)
        );
        // Three ended in the interval, with or without a MOS: their packets count.
        assert_eq!(
            value(s, "genesys_voice_packets_received", &q1),
            Some(3000.0)
        );
        assert_eq!(
            value(s, "genesys_voice_packets_lost", &q1),
            Some(3.0 + 40.0 + 3.0)
        );
        assert_eq!(
            value(s, "genesys_voice_max_latency_seconds", &q1),
            Some(0.12)
        );
        // Nothing identifying is exported.
        let text = format!("{s:?}");
        for secret in ["secret-id", "Ann", "+1555"] {
            assert!(!text.contains(secret), "{secret} exported");
        }
    }

    #[test]
    fn groups_are_labelled_in_the_fixed_order_and_remembered() {
        let every = set(VoiceGroup::ALL.to_vec());
        let mut memory = GroupMemory::default();
        let first = map_voice(
            &every,
            &interval(),
            &[call(Some("2026-12-06T10:05:00Z"), "q1", Some(4.0), 0)],
            &Names::default(),
            &mut memory,
        );
        let family = &first.series.families[0];
        let labels: Vec<&str> = family.samples[0].labels.pairs().map(|(k, _)| k).collect();
        assert_eq!(
            labels,
            [
                "query",
                "interval",
                "queue_id",
                "queue_name",
                "direction",
                "edge_id",
                "codec",
                "threshold"
            ]
        );
        let later = Interval {
            start: interval().end,
            end: interval().end + chrono::TimeDelta::minutes(15),
        };
        let quiet = map_voice(&every, &later, &[], &Names::default(), &mut memory);
        let q1 = [("queue_id", "q1"), ("codec", "opus"), ("edge_id", "edge-1")];
        assert_eq!(
            value(&quiet.series, "genesys_voice_mos_count", &q1),
            Some(0.0)
        );
        assert_eq!(
            value(&quiet.series, "genesys_voice_packets_received", &q1),
            Some(0.0)
        );
        assert_eq!(
            value(&quiet.series, "genesys_voice_max_latency_seconds", &q1),
            None
        );
    }
}
