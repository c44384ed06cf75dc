//! The filters of a conversation details query (`conversationFilters`, `segmentFilters`):
//! parsed against the SDK's enums, evaluated on what a conversation's answer shows.
//!
//! A filter is `{type: and|or, clauses: [{type, predicates}], predicates}`; a predicate
//! `{type: dimension|property|metric, dimension|metric, operator: matches|exists|notExists,
//! value, range}`. Names outside the SDK's enums (`mediaType` in a conversation filter: it
//! is a segment dimension) are a 400 naming the field. A dimension predicate tests the
//! value the answer shows for that name (a segment's own, its session's, or its
//! participant's); `metric` and `property` predicates are accepted and, as the model keeps
//! no such values, never match.

use serde_json::Value;

use crate::simulator::agent_counts::Refusal;

/// `ConversationDetailQueryPredicate.dimension`; this list and those below are the enums of
/// the official SDK (PureCloudPlatformClientV2 269).
const CONVERSATION_DIMENSIONS: &[&str] = &[
    "accessAttribute",
    "conversationEnd",
    "conversationId",
    "conversationInitiator",
    "conversationStart",
    "customerParticipation",
    "divisionId",
    "externalTag",
    "mediaStatsMinConversationMos",
    "originatingDirection",
    "originatingSocialMediaPublic",
];
/// `ConversationDetailQueryPredicate.metric`.
const CONVERSATION_METRICS: &[&str] = &[
    "nAgentDeclined",
    "nAlertExpired",
    "nBlindTransferred",
    "nBotInteractions",
    "nCallbackAttempts",
    "nCallbackOverSla",
    "nCallbackScheduled",
    "nCfcOffered",
    "nCobrowseSessions",
    "nConnected",
    "nConsult",
    "nConsultTransferred",
    "nConversations",
    "nError",
    "nFlow",
    "nFlowMilestone",
    "nFlowOutcome",
    "nFlowOutcomeFailed",
    "nOffered",
    "nOutbound",
    "nOutboundAbandoned",
    "nOutboundAttempted",
    "nOutboundConnected",
    "nOverSla",
    "nStateTransitionError",
    "nTakeover",
    "nTransferred",
    "oAudioMessageCount",
    "oExternalAudioMessageCount",
    "oExternalMediaCount",
    "oFlowMilestone",
    "oMediaCount",
    "oMessageCount",
    "oMessageSegmentCount",
    "oMessageTurn",
    "oSkillExpressionApplications",
    "tAbandon",
    "tAcd",
    "tActiveCallback",
    "tActiveCallbackComplete",
    "tAcw",
    "tAgentResponseTime",
    "tAgentVideoConnected",
    "tAlert",
    "tAnswered",
    "tAverageAgentResponseTime",
    "tAverageCustomerResponseTime",
    "tBarging",
    "tCallbackAbandon",
    "tCallbackConnect",
    "tCallbackNotReached",
    "tCallbackVirtualWait",
    "tCfcAbandon",
    "tCfcAcd",
    "tCfcAnswered",
    "tCfcFlowOut",
    "tCoaching",
    "tCoachingComplete",
    "tConnected",
    "tContacting",
    "tConversationDuration",
    "tDialing",
    "tFirstConnect",
    "tFirstDial",
    "tFirstEngagement",
    "tFirstResponse",
    "tFlow",
    "tFlowDisconnect",
    "tFlowExit",
    "tFlowOut",
    "tFlowOutcome",
    "tHandle",
    "tHeld",
    "tHeldComplete",
    "tIvr",
    "tMonitoring",
    "tMonitoringComplete",
    "tNotResponding",
    "tPark",
    "tParkComplete",
    "tScreenMonitoring",
    "tShortAbandon",
    "tSnippetRecord",
    "tTalk",
    "tTalkComplete",
    "tTransmitting",
    "tUserResponseTime",
    "tVoicemail",
];
/// `SegmentDetailQueryPredicate.dimension`.
const SEGMENT_DIMENSIONS: &[&str] = &[
    "addressFrom",
    "addressTo",
    "agentAssistantId",
    "agentOwned",
    "ani",
    "authenticated",
    "bargedParticipantId",
    "callbackNumber",
    "callbackScheduledTime",
    "canonicalExternalContactId",
    "cleared",
    "coachedParticipantId",
    "conference",
    "deliveryPushed",
    "deliveryStatus",
    "destinationAddress",
    "destinationConversationId",
    "detectedSpeechEnd",
    "detectedSpeechStart",
    "direction",
    "disconnectType",
    "dnis",
    "edgeId",
    "engagementSource",
    "errorCode",
    "exitReason",
    "extendedDeliveryStatus",
    "externalContactId",
    "externalOrganizationId",
    "flaggedReason",
    "flowId",
    "flowName",
    "flowOutType",
    "flowOutcome",
    "flowOutcomeId",
    "flowOutcomeValue",
    "flowVersion",
    "groupId",
    "journeyActionId",
    "journeyActionMapId",
    "journeyCustomerId",
    "journeyCustomerIdType",
    "journeyCustomerSessionId",
    "mediaCount",
    "mediaType",
    "messageType",
    "monitoredParticipantId",
    "outboundCampaignId",
    "outboundContactId",
    "outboundContactListId",
    "participantName",
    "protocolCallId",
    "provider",
    "purpose",
    "queueId",
    "recording",
    "remote",
    "remoteNameDisplayable",
    "requestedLanguageId",
    "requestedRouting",
    "requestedRoutingSkillId",
    "scoredAgentId",
    "screenMonitoredUserId",
    "screenRecording",
    "scriptId",
    "segmentEnd",
    "segmentType",
    "sessionDnis",
    "sipResponseCode",
    "skillExpressionId",
    "snippetRecording",
    "subject",
    "teamId",
    "transferTargetAddress",
    "transferTargetName",
    "transferType",
    "usedRouting",
    "userId",
    "wrapUpCode",
    "wrapUpNote",
];
/// `SegmentDetailQueryPredicate.metric`.
const SEGMENT_METRICS: &[&str] = &["tSegmentDuration"];
const PREDICATE_TYPES: &[&str] = &["dimension", "property", "metric"];
const OPERATORS: &[&str] = &["matches", "exists", "notExists"];

/// Which list of filters: what its predicates may name.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Level {
    Conversation,
    Segment,
}

impl Level {
    fn names(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Level::Conversation => (CONVERSATION_DIMENSIONS, CONVERSATION_METRICS),
            Level::Segment => (SEGMENT_DIMENSIONS, SEGMENT_METRICS),
        }
    }
}

/// One predicate as evaluated: `None` for the `metric` and `property` ones the model
/// never matches.
#[derive(Debug)]
enum Test {
    Matches(String, String),
    Exists(String),
    NotExists(String),
}

/// A parsed filter: `and` or `or` over its predicates and clauses.
#[derive(Debug)]
pub(crate) struct Filter {
    all: bool,
    predicates: Vec<Option<Test>>,
    clauses: Vec<Filter>,
}

impl Filter {
    /// Whether the filter cannot hold where `name` shows `value` on every segment: an
    /// `and` filter matching `name` to another value (for skipping whole cells of traffic).
    pub(crate) fn rules_out(&self, name: &str, value: &str) -> bool {
        self.all
            && self
                .predicates
                .iter()
                .any(|test| matches!(test, Some(Test::Matches(n, v)) if n == name && v != value))
    }

    /// Whether the filter holds where `value_of` gives the values shown for each name.
    pub(crate) fn holds(&self, value_of: &dyn Fn(&str) -> Option<String>) -> bool {
        let tests = self.predicates.iter().map(|test| match test {
            Some(Test::Matches(name, value)) => value_of(name).as_deref() == Some(value),
            Some(Test::Exists(name)) => value_of(name).is_some(),
            Some(Test::NotExists(name)) => value_of(name).is_none(),
            None => false,
        });
        let clauses = self.clauses.iter().map(|c| c.holds(value_of));
        let mut results = tests.chain(clauses);
        if self.all {
            results.all(|r| r)
        } else {
            results.any(|r| r)
        }
    }
}

fn refuse(field: impl Into<String>, message: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        message: message.into(),
    }
}

/// Parses the list under `field` (absent or null: no filters).
pub(crate) fn parse_list(
    value: Option<&Value>,
    field: &str,
    level: Level,
) -> Result<Vec<Filter>, Refusal> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_filter(item, &format!("{field}[{i}]"), level, true))
            .collect(),
        Some(_) => Err(refuse(field, format!("{field} must be a list of filters"))),
    }
}

fn parse_filter(value: &Value, field: &str, level: Level, top: bool) -> Result<Filter, Refusal> {
    let Value::Object(fields) = value else {
        return Err(refuse(field, format!("{field} must be an object")));
    };
    let all = match fields.get("type").and_then(Value::as_str) {
        Some("and") => true,
        Some("or") => false,
        _ => {
            return Err(refuse(
                format!("{field}.type"),
                "the type of a filter must be 'and' or 'or'",
            ));
        }
    };
    let list = |name: &str| match fields.get(name) {
        None | Some(Value::Null) => Ok(&[][..]),
        Some(Value::Array(items)) => Ok(items.as_slice()),
        Some(_) => Err(refuse(
            format!("{field}.{name}"),
            format!("{name} must be a list"),
        )),
    };
    let predicates = list("predicates")?
        .iter()
        .enumerate()
        .map(|(i, p)| parse_predicate(p, &format!("{field}.predicates[{i}]"), level))
        .collect::<Result<Vec<_>, _>>()?;
    // A clause holds predicates only; a clause inside a clause is not part of the model.
    let clauses = if top {
        list("clauses")?
            .iter()
            .enumerate()
            .map(|(i, c)| parse_filter(c, &format!("{field}.clauses[{i}]"), level, false))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    if predicates.is_empty() && clauses.is_empty() {
        return Err(refuse(
            field,
            "a filter needs at least one predicate or clause",
        ));
    }
    Ok(Filter {
        all,
        predicates,
        clauses,
    })
}

fn parse_predicate(value: &Value, field: &str, level: Level) -> Result<Option<Test>, Refusal> {
    let Value::Object(fields) = value else {
        return Err(refuse(field, format!("{field} must be an object")));
    };
    let text = |name: &str| -> Result<Option<&str>, Refusal> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(refuse(
                format!("{field}.{name}"),
                format!("{name} must be a string"),
            )),
        }
    };
    let kind = text("type")?.unwrap_or("dimension");
    if !PREDICATE_TYPES.contains(&kind) {
        return Err(refuse(
            format!("{field}.type"),
            format!("unknown predicate type '{kind}': use one of {PREDICATE_TYPES:?}"),
        ));
    }
    let operator = text("operator")?.unwrap_or("matches");
    if !OPERATORS.contains(&operator) {
        return Err(refuse(
            format!("{field}.operator"),
            format!("unknown operator '{operator}': use one of {OPERATORS:?}"),
        ));
    }
    let (dimensions, metrics) = level.names();
    let named = |name: &str, list: &[&str], what: &str| match text(name)? {
        Some(n) if list.contains(&n) => Ok(n.to_string()),
        Some(n) => Err(refuse(
            format!("{field}.{name}"),
            format!("'{n}' is not a {what} of this filter"),
        )),
        None => Err(refuse(
            format!("{field}.{name}"),
            format!("a {kind} predicate needs a {name}"),
        )),
    };
    let value = text("value")?;
    let has_range = fields.get("range").is_some_and(|r| !r.is_null());
    if operator == "matches" && value.is_none() && !has_range {
        return Err(refuse(
            format!("{field}.value"),
            "a 'matches' predicate needs a value or a range",
        ));
    }
    match kind {
        "dimension" => {
            let dimension = named("dimension", dimensions, "dimension")?;
            Ok(match (operator, value) {
                ("exists", _) => Some(Test::Exists(dimension)),
                ("notExists", _) => Some(Test::NotExists(dimension)),
                (_, Some(value)) => Some(Test::Matches(dimension, value.to_string())),
                // A range on a dimension: the model's dimension values are not numbers.
                (_, None) => None,
            })
        }
        "metric" => {
            named("metric", metrics, "metric")?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field_of(list: Value, level: Level) -> String {
        match parse_list(Some(&list), "segmentFilters", level) {
            Ok(_) => String::new(),
            Err(refusal) => refusal.field,
        }
    }

    #[test]
    fn names_outside_the_enums_are_refused_with_their_field() {
        let media = json!([{"type": "and", "predicates": [
            {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}]}]);
        assert_eq!(field_of(media.clone(), Level::Segment), "");
        assert_eq!(
            field_of(media, Level::Conversation),
            "segmentFilters[0].predicates[0].dimension"
        );
        let bad_type = json!([{"type": "xor", "predicates": []}]);
        assert_eq!(field_of(bad_type, Level::Segment), "segmentFilters[0].type");
        let no_value = json!([{"type": "or", "clauses": [{"type": "and", "predicates": [
            {"dimension": "queueId"}]}]}]);
        assert_eq!(
            field_of(no_value, Level::Segment),
            "segmentFilters[0].clauses[0].predicates[0].value"
        );
        let metric = json!([{"type": "and", "predicates": [{"type": "metric", "metric": "tTalk",
            "range": {"gt": 1}}]}]);
        assert_eq!(field_of(metric.clone(), Level::Conversation), "");
        assert_eq!(
            field_of(metric, Level::Segment),
            "segmentFilters[0].predicates[0].metric"
        );
    }

    #[test]
    fn predicates_test_the_values_shown() {
        let list = json!([{"type": "or", "predicates": [
            {"dimension": "queueId", "value": "q1"},
            {"dimension": "edgeId", "operator": "exists"}]}]);
        let filters = parse_list(Some(&list), "segmentFilters", Level::Segment).unwrap_or_default();
        let filter = &filters[0];
        assert!(filter.holds(&|n| (n == "queueId").then(|| "q1".to_string())));
        assert!(filter.holds(&|n| (n == "edgeId").then(|| "e".to_string())));
        assert!(!filter.holds(&|n| (n == "queueId").then(|| "q2".to_string())));
        assert!(
            !filter.rules_out("queueId", "q2"),
            "an or filter rules nothing out"
        );
        let voice =
            json!([{"type": "and", "predicates": [{"dimension": "mediaType", "value": "voice"}]}]);
        let filters =
            parse_list(Some(&voice), "segmentFilters", Level::Segment).unwrap_or_default();
        assert!(filters[0].rules_out("mediaType", "chat"));
        assert!(!filters[0].rules_out("mediaType", "voice"));
    }
}
