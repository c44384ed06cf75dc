//! Agent state counts to Prometheus series: `genesys_agents_*` gauges.
//!
//! Pure, like the rest of [`crate::mapping`]: one answer goes in, one [`QuerySeries`]
//! comes out. Each grouping of the answer is one family whose series carry label `query`
//! (the set's name) and the grouping's value as a named label:
//! `genesys_agents_routing_status{routing_status}`,
//! `genesys_agents_system_presence{system_presence}` (the organization presences summed
//! per system presence), `genesys_agents_presence{presence_id, presence_name,
//! system_presence}`, `genesys_agents_out_of_office{out_of_office}`,
//! `genesys_agents_adherence_state{adherence_state}`,
//! `genesys_agents_scheduled_activity_category{activity_category}`,
//! `genesys_agents_actual_activity_category{activity_category}` and
//! `genesys_agents_segment_type{segment_type}`. No series per agent.
//!
//! A pushed set's counts per queue ([`map_queue_agent_counts`]), from the same shape of
//! counts, one per queue: `genesys_agents_queue_routing_status{queue_id, queue_name,
//! routing_status}` and `genesys_agents_queue_system_presence{queue_id, queue_name,
//! system_presence}`, zero-filled as the org-wide families are.
//!
//! Zero-fill: a grouping asked for (or answered) reads 0 for every value of its SDK enum
//! that Genesys left out; organization presence ids, which are the org's own, are not
//! filled.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::observations::MappedObservations;
use super::{Family, LabelSet, Labels, QuerySeries, Sample};
use crate::config::AgentSetConfig;
use crate::genesys::agents::{
    ACTIVITY_CATEGORIES, ADHERENCE_STATES, AgentCountsResponse, Count, ROUTING_STATUSES,
    SEGMENT_TYPES, SYSTEM_PRESENCES, text,
};

/// One family of counts by one label: its name, label, help, the field an entry's
/// value is read from, and the values zero-filled.
struct Grouping {
    family: &'static str,
    label: &'static str,
    help: &'static str,
    value: fn(&Count) -> &Option<serde_json::Value>,
    known: &'static [&'static str],
}

const ROUTING: Grouping = Grouping {
    family: "genesys_agents_routing_status",
    label: "routing_status",
    help: "Agents by routing status now (Genesys agent state counts, routingStatusCounts)",
    value: |c| &c.routing_status,
    known: &ROUTING_STATUSES,
};
const SYSTEM_PRESENCE: Grouping = Grouping {
    family: "genesys_agents_system_presence",
    label: "system_presence",
    help: "Agents by system presence now, their organization presences summed (Genesys agent state counts, presenceCounts)",
    value: |c| &c.system_presence,
    known: &SYSTEM_PRESENCES,
};
const OUT_OF_OFFICE: Grouping = Grouping {
    family: "genesys_agents_out_of_office",
    label: "out_of_office",
    help: "Agents out of office now, or not (Genesys agent state counts, isOutOfOfficeCounts)",
    value: |c| &c.is_out_of_office,
    known: &["true", "false"],
};
const ADHERENCE: Grouping = Grouping {
    family: "genesys_agents_adherence_state",
    label: "adherence_state",
    help: "Agents by schedule adherence state now (Genesys agent state counts, adherenceStateCounts)",
    value: |c| &c.adherence_state,
    known: &ADHERENCE_STATES,
};
const SCHEDULED: Grouping = Grouping {
    family: "genesys_agents_scheduled_activity_category",
    label: "activity_category",
    help: "Agents by the activity category their schedule has now (Genesys agent state counts, scheduledActivityCategoryCounts)",
    value: |c| &c.activity_category,
    known: &ACTIVITY_CATEGORIES,
};
const ACTUAL: Grouping = Grouping {
    family: "genesys_agents_actual_activity_category",
    label: "activity_category",
    help: "Agents by the activity category they are in now (Genesys agent state counts, actualActivityCategoryCounts)",
    value: |c| &c.activity_category,
    known: &ACTIVITY_CATEGORIES,
};
const SEGMENT: Grouping = Grouping {
    family: "genesys_agents_segment_type",
    label: "segment_type",
    help: "Agents' sessions by the type of segment they are in now (Genesys agent state counts, segmentCounts)",
    value: |c| &c.segment_type,
    known: &SEGMENT_TYPES,
};
const QUEUE_ROUTING: Grouping = Grouping {
    family: "genesys_agents_queue_routing_status",
    label: "routing_status",
    help: "Agents active on a queue now by routing status: those whose pushed activity lists the queue in activeQueueIds, seeded by the queue's joined members",
    ..ROUTING
};
const QUEUE_SYSTEM_PRESENCE: Grouping = Grouping {
    family: "genesys_agents_queue_system_presence",
    label: "system_presence",
    help: "Agents active on a queue now by system presence: those whose pushed activity lists the queue in activeQueueIds, seeded by the queue's joined members",
    ..SYSTEM_PRESENCE
};
const PRESENCE_FAMILY: &str = "genesys_agents_presence";
const PRESENCE_HELP: &str =
    "Agents by organization presence now (Genesys agent state counts, presenceCounts)";

/// Maps one answer for `config`; `presence_names` names organization presence ids.
pub fn map_agent_counts(
    config: &AgentSetConfig,
    answer: &AgentCountsResponse,
    presence_names: &HashMap<String, String>,
) -> MappedObservations {
    let asked = |grouping: &str| config.group_by.iter().any(|g| g == grouping);
    // A grouping asked for whose list is missing was answered with nobody in it.
    fn list(counts: &Option<Vec<Count>>, asked: bool) -> Option<&[Count]> {
        match counts {
            Some(counts) => Some(counts.as_slice()),
            None => asked.then_some(&[][..]),
        }
    }
    let mut families = Vec::new();
    let mut warnings = 0;
    let by_label = [
        (
            &ROUTING,
            list(&answer.routing_status_counts, asked("routingStatus")),
        ),
        (
            &OUT_OF_OFFICE,
            list(&answer.is_out_of_office_counts, asked("isOutOfOffice")),
        ),
        (&SEGMENT, list(&answer.segment_counts, asked("segmentType"))),
        (&ADHERENCE, list(&answer.adherence_state_counts, false)),
        (
            &SCHEDULED,
            list(&answer.scheduled_activity_category_counts, false),
        ),
        (
            &ACTUAL,
            list(&answer.actual_activity_category_counts, false),
        ),
    ];
    for (grouping, counts) in by_label {
        if let Some(counts) = counts {
            let (family, skipped) = one_label(&config.name, grouping, counts);
            families.push(family);
            warnings += skipped;
        }
    }
    if let Some(counts) = list(&answer.presence_counts, asked("presence")) {
        let (summed, skipped) = one_label(&config.name, &SYSTEM_PRESENCE, counts);
        families.push(summed);
        families.push(presences(&config.name, counts, presence_names));
        warnings += skipped;
    }
    families.sort_by(|a, b| a.name.cmp(&b.name));
    MappedObservations {
        series: QuerySeries { families },
        warnings,
    }
}

/// The family of `grouping`: each entry's count added to its value's series (so
/// organization presences sum per system presence), every known value filled; returns
/// the entries skipped (no value, no count).
fn one_label(query: &str, grouping: &Grouping, counts: &[Count]) -> (Family, u64) {
    let names: Arc<[String]> = Arc::from(["query".to_string(), grouping.label.to_string()]);
    let (samples, skipped) = label_samples(&names, &[query.to_string()], grouping, counts);
    let family = Family {
        name: grouping.family.into(),
        help: grouping.help.into(),
        samples,
    };
    (family, skipped)
}

/// The series of `grouping` for one answer's `counts`: labelled `names`, whose values are
/// `leading` then the grouping's value; returns the entries skipped.
fn label_samples(
    names: &Arc<[String]>,
    leading: &[String],
    grouping: &Grouping,
    counts: &[Count],
) -> (Vec<Sample>, u64) {
    let mut values: BTreeMap<String, f64> = grouping
        .known
        .iter()
        .map(|value| (value.to_string(), 0.0))
        .collect();
    let mut skipped = 0;
    for entry in counts {
        match (text((grouping.value)(entry)), entry.value()) {
            (Some(value), Some(count)) => *values.entry(value).or_default() += count,
            _ => skipped += 1,
        }
    }
    let samples = values
        .into_iter()
        .map(|(value, count)| {
            let mut labels = leading.to_vec();
            labels.push(value);
            Sample {
                labels: LabelSet::new(Labels::new(Arc::clone(names), labels)),
                value: count,
            }
        })
        .collect();
    (samples, skipped)
}

/// One queue's counts for [`map_queue_agent_counts`]: its id, its name (empty when
/// unknown) and its agents counted in the agent state counts' shape.
pub struct QueueCounts<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub counts: AgentCountsResponse,
}

/// The per-queue families of set `query`: `genesys_agents_queue_routing_status` when the
/// counts have routing statuses, `genesys_agents_queue_system_presence` when they have
/// presences, each with every queue's series, zero-filled; returns the entries skipped.
pub fn map_queue_agent_counts(query: &str, queues: &[QueueCounts<'_>]) -> (Vec<Family>, u64) {
    /// The list of one grouping in an answer.
    type List = fn(&AgentCountsResponse) -> &Option<Vec<Count>>;
    let by_grouping: [(&Grouping, List); 2] = [
        (&QUEUE_ROUTING, |c| &c.routing_status_counts),
        (&QUEUE_SYSTEM_PRESENCE, |c| &c.presence_counts),
    ];
    let mut families = Vec::new();
    let mut warnings = 0;
    for (grouping, list) in by_grouping {
        if queues.iter().all(|q| list(&q.counts).is_none()) {
            continue;
        }
        let names: Arc<[String]> = ["query", "queue_id", "queue_name", grouping.label]
            .map(String::from)
            .into();
        let mut samples = Vec::new();
        for queue in queues {
            let leading = [query, queue.id, queue.name].map(String::from);
            let counts = list(&queue.counts).as_deref().unwrap_or_default();
            let (more, skipped) = label_samples(&names, &leading, grouping, counts);
            samples.extend(more);
            warnings += skipped;
        }
        families.push(Family {
            name: grouping.family.into(),
            help: grouping.help.into(),
            samples,
        });
    }
    (families, warnings)
}

/// `genesys_agents_presence`: one series per organization presence id (entries without
/// one were counted as skipped by the system presence family).
fn presences(query: &str, counts: &[Count], names: &HashMap<String, String>) -> Family {
    let labels: Arc<[String]> = ["query", "presence_id", "presence_name", "system_presence"]
        .map(String::from)
        .into();
    let mut series: BTreeMap<(String, String), f64> = BTreeMap::new();
    for entry in counts {
        let (Some(id), Some(system), Some(count)) = (
            text(&entry.organization_presence_id),
            text(&entry.system_presence),
            entry.value(),
        ) else {
            continue;
        };
        *series.entry((id, system)).or_default() += count;
    }
    let samples = series
        .into_iter()
        .map(|((id, system), count)| {
            let name = names.get(&id).cloned().unwrap_or_default();
            Sample {
                labels: LabelSet::new(Labels::new(
                    Arc::clone(&labels),
                    vec![query.to_string(), id, name, system],
                )),
                value: count,
            }
        })
        .collect();
    Family {
        name: PRESENCE_FAMILY.into(),
        help: PRESENCE_HELP.into(),
        samples,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::names::Names;
    use crate::genesys::sources::PRESENCE_NAMES;

    fn answer(json: &str) -> AgentCountsResponse {
        serde_json::from_str(json).unwrap()
    }

    fn value(series: &QuerySeries, family: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = series.families.iter().find(|f| *f.name == *family)?;
        family
            .samples
            .iter()
            .find(|s| {
                labels.iter().all(|(k, v)| {
                    s.labels
                        .pairs()
                        .any(|(name, value)| name == *k && value == *v)
                })
            })
            .map(|s| s.value)
    }

    #[test]
    fn every_grouping_is_a_family_with_its_named_label_and_zero_filled() {
        let config = AgentSetConfig::whole_org("now");
        let presence = "6b1ce1b4-0000-4000-8000-000000000001";
        let names = Names::from_tables([(
            PRESENCE_NAMES,
            HashMap::from([(presence.to_string(), "Lunch \"long\"".to_string())]),
        )]);
        let mapped = map_agent_counts(
            &config,
            &answer(&format!(
                r#"{{"routingStatusCounts": [{{"routingStatus": "IDLE", "count": 4}}],
                    "presenceCounts": [{{"systemPresence": "MEAL", "organizationPresenceId": "{presence}", "count": 2}},
                                       {{"systemPresence": "MEAL", "organizationPresenceId": "other", "count": 1}}],
                    "isOutOfOfficeCounts": [{{"isOutOfOffice": true, "count": 1}}],
                    "segmentCounts": [{{"segmentType": "interact", "count": 3}}, {{"count": 1}}]}}"#
            )),
            &names.table(PRESENCE_NAMES),
        );
        let s = &mapped.series;
        let q = ("query", "now");
        assert_eq!(
            value(
                s,
                "genesys_agents_routing_status",
                &[q, ("routing_status", "IDLE")]
            ),
            Some(4.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_agents_routing_status",
                &[q, ("routing_status", "UNKNOWN")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_agents_system_presence",
                &[q, ("system_presence", "MEAL")]
            ),
            Some(3.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_agents_system_presence",
                &[q, ("system_presence", "BREAK")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_agents_presence",
                &[
                    ("presence_id", presence),
                    ("presence_name", "Lunch \"long\""),
                    ("system_presence", "MEAL")
                ]
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_agents_presence",
                &[("presence_id", "other"), ("presence_name", "")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_agents_out_of_office",
                &[("out_of_office", "true")]
            ),
            Some(1.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_agents_out_of_office",
                &[("out_of_office", "false")]
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                s,
                "genesys_agents_segment_type",
                &[("segment_type", "wrapup")]
            ),
            Some(0.0)
        );
        assert_eq!(mapped.warnings, 1);
        // Adherence was neither asked for (it cannot be) nor answered: no family.
        assert!(value(s, "genesys_agents_adherence_state", &[]).is_none());
        let routing = s
            .families
            .iter()
            .find(|f| *f.name == *"genesys_agents_routing_status")
            .unwrap();
        assert_eq!(routing.samples.len(), ROUTING_STATUSES.len());
    }

    #[test]
    fn only_the_groupings_asked_for_or_answered_are_mapped() {
        let mut config = AgentSetConfig::whole_org("now");
        config.group_by = vec!["routingStatus".into()];
        let mapped = map_agent_counts(
            &config,
            &answer(r#"{"adherenceStateCounts": [{"adherenceState": "InAdherence", "count": 2}]}"#),
            &HashMap::new(),
        );
        let names: Vec<&str> = mapped.series.families.iter().map(|f| &*f.name).collect();
        assert_eq!(
            names,
            [
                "genesys_agents_adherence_state",
                "genesys_agents_routing_status"
            ]
        );
        assert_eq!(
            value(
                &mapped.series,
                "genesys_agents_routing_status",
                &[("routing_status", "IDLE")]
            ),
            Some(0.0)
        );
    }
}
