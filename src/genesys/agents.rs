//! `POST /api/v2/analytics/agents/status/counts`: request and response bodies.
//!
//! One request counts the whole org's agents (or those a `userFilter` selects) by the
//! groupings named in the `groupBy` query parameter (SDK 269: `segmentType`, `presence`,
//! `routingStatus`, `isOutOfOffice`; without it only `segmentCounts` come back). The body
//! is `AgentStateCountsRequest {userFilter, sessionFilter}`; the answer,
//! `AnalyticsAgentStateCountsResponse`, is read as leniently as the other answers:
//! unknown fields are ignored, `null` reads as empty, an entry without its value or
//! count is skipped (and counted by the mapping).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::bodies::null_as_default;

/// The `groupBy` values the endpoint takes (SDK 269's `post_analytics_agents_status_counts`).
pub const GROUPINGS: [&str; 4] = ["segmentType", "presence", "routingStatus", "isOutOfOffice"];

/// `AgentStateUserFilter` predicate dimensions (SDK 269 `AgentStateAgentQueryPredicate`).
pub const USER_FILTER_DIMENSIONS: [&str; 21] = [
    "activeQueueId",
    "inactiveQueueId",
    "queueId",
    "assignedSkillId",
    "assignedLanguageId",
    "divisionId",
    "userId",
    "managerId",
    "systemPresence",
    "organizationPresenceId",
    "routingStatus",
    "isOutOfOffice",
    "online",
    "teamId",
    "managementUnitId",
    "businessUnitId",
    "adherenceState",
    "adherenceImpact",
    "scheduledActivityCodeId",
    "scheduledActivityCategory",
    "actualActivityCategory",
];

/// `AgentStateSessionFilter` predicate dimensions (SDK 269 `AgentStateSessionQueryPredicate`).
pub const SESSION_FILTER_DIMENSIONS: [&str; 6] = [
    "mediaType",
    "originatingDirection",
    "requestedLanguageId",
    "requestedRoutingSkillId",
    "routedQueueId",
    "segmentType",
];

/// `AgentStateRoutingStatusCount.routingStatus` values.
pub const ROUTING_STATUSES: [&str; 6] = [
    "OFF_QUEUE",
    "IDLE",
    "INTERACTING",
    "NOT_RESPONDING",
    "COMMUNICATING",
    "UNKNOWN",
];
/// `AgentStatePresenceCount.systemPresence` values.
pub const SYSTEM_PRESENCES: [&str; 11] = [
    "AVAILABLE",
    "AWAY",
    "BUSY",
    "OFFLINE",
    "IDLE",
    "ON_QUEUE",
    "MEAL",
    "TRAINING",
    "MEETING",
    "BREAK",
    "UNKNOWN",
];
/// `AgentStateAdherenceStateCount.adherenceState` values.
pub const ADHERENCE_STATES: [&str; 6] = [
    "InAdherence",
    "OutOfAdherence",
    "Unscheduled",
    "Unknown",
    "Ignored",
    "Explained",
];
/// `AgentStateActivityCategoryCount.activityCategory` values.
pub const ACTIVITY_CATEGORIES: [&str; 10] = [
    "OnQueueWork",
    "Break",
    "Meal",
    "Meeting",
    "OffQueueWork",
    "TimeOff",
    "Training",
    "Unavailable",
    "Unscheduled",
    "Unknown",
];
/// `AgentStateSegmentTypeCount.segmentType` values.
pub const SEGMENT_TYPES: [&str; 22] = [
    "alert",
    "barging",
    "callback",
    "coaching",
    "contacting",
    "converting",
    "delay",
    "dialing",
    "hold",
    "interact",
    "ivr",
    "monitoring",
    "parked",
    "scheduled",
    "screenmonitoring",
    "sharing",
    "system",
    "transmitting",
    "unknown",
    "uploading",
    "voicemail",
    "wrapup",
];

/// Body of one counts request: the whole org, or the agents of some queues, teams or
/// divisions (an `or` within each list, an `and` between lists).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCountsQuery {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_filter: Option<Value>,
}

impl AgentCountsQuery {
    /// The request for agents in any of `queues`, any of `teams` and any of `divisions`
    /// (an empty list does not narrow).
    pub fn new(queues: &[String], teams: &[String], divisions: &[String]) -> AgentCountsQuery {
        let clauses: Vec<Value> = [
            ("queueId", queues),
            ("teamId", teams),
            ("divisionId", divisions),
        ]
        .into_iter()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(dimension, ids)| {
            let predicates: Vec<Value> = ids
                .iter()
                .map(|id| json!({"dimension": dimension, "value": id}))
                .collect();
            json!({"type": "or", "predicates": predicates})
        })
        .collect();
        let user_filter = match clauses.len() {
            0 => None,
            1 => clauses.into_iter().next(),
            _ => Some(json!({"type": "and", "clauses": clauses})),
        };
        AgentCountsQuery { user_filter }
    }
}

/// The answer: counts per value of each grouping asked for.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentCountsResponse {
    #[serde(default, deserialize_with = "null_as_default")]
    pub segment_counts: Option<Vec<Count>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub presence_counts: Option<Vec<Count>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub routing_status_counts: Option<Vec<Count>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub is_out_of_office_counts: Option<Vec<Count>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub adherence_state_counts: Option<Vec<Count>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub scheduled_activity_category_counts: Option<Vec<Count>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub actual_activity_category_counts: Option<Vec<Count>>,
}

/// One count of any grouping: the grouping's value fields (whichever it has) and the
/// count. Values are read as JSON so that a wrong type costs the entry, not the answer.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    #[serde(default)]
    pub segment_type: Option<Value>,
    #[serde(default)]
    pub system_presence: Option<Value>,
    #[serde(default)]
    pub organization_presence_id: Option<Value>,
    #[serde(default)]
    pub routing_status: Option<Value>,
    #[serde(default)]
    pub is_out_of_office: Option<Value>,
    #[serde(default)]
    pub adherence_state: Option<Value>,
    #[serde(default)]
    pub activity_category: Option<Value>,
    #[serde(default)]
    pub count: Option<Value>,
}

impl Count {
    /// The count, when it is a number.
    pub fn value(&self) -> Option<f64> {
        self.count.as_ref().and_then(Value::as_f64)
    }
}

/// A text field of an entry as a label value: strings as they are, booleans as
/// `true`/`false`; anything else is no value.
pub fn text(field: &Option<Value>) -> Option<String> {
    match field {
        Some(Value::String(text)) if !text.is_empty() => Some(text.clone()),
        Some(Value::Bool(flag)) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_org_is_an_empty_body_and_lists_become_or_clauses_joined_by_and() {
        let whole = serde_json::to_value(AgentCountsQuery::new(&[], &[], &[])).unwrap();
        assert_eq!(whole, json!({}));
        let queues = serde_json::to_value(AgentCountsQuery::new(&["q".into()], &[], &[])).unwrap();
        assert_eq!(
            queues,
            json!({"userFilter": {"type": "or", "predicates": [{"dimension": "queueId", "value": "q"}]}})
        );
        let both = serde_json::to_value(AgentCountsQuery::new(
            &["q".into()],
            &[],
            &["d1".into(), "d2".into()],
        ))
        .unwrap();
        assert_eq!(both["userFilter"]["type"], "and");
        assert_eq!(
            both["userFilter"]["clauses"][1]["predicates"][1]["value"],
            "d2"
        );
    }

    #[test]
    fn the_answer_is_read_leniently() {
        let answer: AgentCountsResponse = serde_json::from_str(
            r#"{"routingStatusCounts": [{"routingStatus": "IDLE", "count": 3}, {"count": "x"}],
                "presenceCounts": null, "somethingNew": 1}"#,
        )
        .unwrap();
        let routing = answer.routing_status_counts.unwrap();
        assert_eq!(text(&routing[0].routing_status).as_deref(), Some("IDLE"));
        assert_eq!(routing[0].value(), Some(3.0));
        assert_eq!(routing[1].value(), None);
        assert!(answer.presence_counts.is_none());
        assert!(answer.segment_counts.is_none());
    }
}
