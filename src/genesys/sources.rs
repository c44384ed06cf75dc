//! The analytics aggregates sources: one table, one row per domain.
//!
//! Every domain Genesys reports on (conversations, users, flows, bots, data actions,
//! surveys, evaluations, transcripts, flow executions, rate limits) answers
//! `POST /api/v2/analytics/{source}/aggregates/query` with the same request and answer
//! shape. What differs between them is data, and all of it is here: the path segment,
//! the catalogue of metrics and dimensions, the series prefix, the qualifiers that carry a
//! known meaning, the permission and the per-request caps. The config names a row with
//! `source:`; validation, the client, the mapping, the plan, names, `report` and `backfill`
//! read the row and have no per-domain code. Adding a source is adding a row (and a
//! simulator rule, and a dashboard).
//!
//! The catalogues are the enums of the official Python SDK 269's models: for a source
//! `<S>`, the metrics are `<S>AggregationView.target` and the dimensions (group-by and
//! filter alike) `<S>AggregateQueryPredicate.dimension`. `tests/catalog_sdk.rs` holds
//! every list here against the SDK.

use super::catalog;

/// One aggregates source: what the config, the client and the mapping need to know.
/// (Shown in debug output by its segment alone: its lists are long.)
#[derive(PartialEq, Eq)]
pub struct Source {
    /// The path segment of `/api/v2/analytics/{segment}/aggregates/query`, and the value
    /// of a query's `source:`.
    pub segment: &'static str,
    /// The `endpoint` label of its requests in the exporter's own metrics: `aggregates`
    /// for conversations (as before there were other sources, so dashboards and alerts
    /// on it keep working), `{segment}_aggregates` for the others, so that no source's
    /// requests hide among another's and none meets a listing's label (`users`).
    pub endpoint: &'static str,
    /// The `endpoint` label of its asynchronous aggregate jobs' requests
    /// (`/api/v2/analytics/{segment}/aggregates/jobs...`): `aggregate_jobs` for
    /// conversations, `{segment}_aggregate_jobs` for the others; `None` for a source the
    /// SDK has no jobs for (flow executions, rate limits).
    pub jobs_endpoint: Option<&'static str>,
    /// The domain in the singular and snake case: series are `genesys_{domain}_…`.
    pub domain: &'static str,
    /// Metric names the source accepts, sorted.
    pub metrics: &'static [&'static str],
    /// Dimension names it accepts in `groupBy` and filter predicates, sorted.
    pub dimensions: &'static [&'static str],
    /// Metrics whose qualifier has a known meaning, with the label it becomes (instead of
    /// `qualifier`) and the values it takes (for zero-fill; empty when the values are ids).
    pub qualifiers: &'static [Qualifier],
    /// The permission the OAuth client's role needs for the query.
    pub permission: &'static str,
    /// Dimensions with a cap on their predicates in one request, and the cap.
    pub predicate_caps: &'static [(&'static str, usize)],
    /// The stats Genesys answers for the source's timers, in export order: zero-fill
    /// writes those of them that are `sum` or `count`, and the docs list them.
    pub timer_stats: &'static [&'static str],
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Source").field(&self.segment).finish()
    }
}

/// A qualifier with a known meaning: `routing_status` rather than `qualifier`.
#[derive(Debug, PartialEq, Eq)]
pub struct Qualifier {
    pub metric: &'static str,
    /// The label name.
    pub label: &'static str,
    /// Every value it takes, for zero-fill; empty when they are ids (organization presences).
    pub values: &'static [&'static str],
    /// When the values are ids with names: the names directory's key for them and the
    /// label their name becomes, right after `label` (`presenceId`, `presence_name`).
    pub name: Option<(&'static str, &'static str)>,
}

/// The stats of a timer in most sources' answers (the SDK's `StatisticalSummary` and
/// percentiles), in export order.
pub const TIMER_STATS: [&str; 6] = ["sum", "count", "max", "min", "p95", "p99"];

/// The names directory key of organization presences (label `presence_name`): the ids of
/// `tOrganizationPresence`'s qualifier and of the agents' presence counts. No dimension
/// Genesys groups by, so it is spelled here once.
pub const PRESENCE_NAMES: &str = "presenceId";

/// The routing statuses of `tAgentRoutingStatus` (the SDK's `AnalyticsRoutingStatusRecord`).
pub const ROUTING_STATUSES: &[&str] = &[
    "OFF_QUEUE",
    "IDLE",
    "INTERACTING",
    "NOT_RESPONDING",
    "COMMUNICATING",
];

/// The system presences of `tSystemPresence` (the SDK's `AnalyticsUserPresenceRecord`).
pub const SYSTEM_PRESENCES: &[&str] = &[
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
];

/// The conversations source: today's default, when a query names none.
pub const CONVERSATIONS: &Source = &SOURCES[0];

/// Every source, conversations first.
pub const SOURCES: [Source; 10] = [
    Source {
        segment: "conversations",
        endpoint: "aggregates",
        jobs_endpoint: Some("aggregate_jobs"),
        domain: "conversation",
        metrics: catalog::CONVERSATION_METRICS,
        dimensions: catalog::CONVERSATION_DIMENSIONS,
        qualifiers: &[],
        permission: "analytics:conversationAggregate:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
    Source {
        segment: "users",
        endpoint: "users_aggregates",
        jobs_endpoint: Some("users_aggregate_jobs"),
        domain: "user",
        metrics: USERS_METRICS,
        dimensions: USERS_DIMENSIONS,
        qualifiers: &[
            Qualifier {
                metric: "tAgentRoutingStatus",
                label: "routing_status",
                values: ROUTING_STATUSES,
                name: None,
            },
            Qualifier {
                metric: "tSystemPresence",
                label: "system_presence",
                values: SYSTEM_PRESENCES,
                name: None,
            },
            Qualifier {
                metric: "tOrganizationPresence",
                label: "presence_id",
                values: &[],
                name: Some((PRESENCE_NAMES, "presence_name")),
            },
        ],
        permission: "analytics:userAggregate:view",
        predicate_caps: &[("userId", 100)],
        // Status times: Genesys answers their sum only.
        timer_stats: &["sum"],
    },
    Source {
        segment: "flows",
        endpoint: "flows_aggregates",
        jobs_endpoint: Some("flows_aggregate_jobs"),
        domain: "flow",
        metrics: FLOWS_METRICS,
        dimensions: FLOWS_DIMENSIONS,
        qualifiers: &[],
        permission: "analytics:flowAggregate:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
    Source {
        segment: "bots",
        endpoint: "bots_aggregates",
        jobs_endpoint: Some("bots_aggregate_jobs"),
        domain: "bot",
        metrics: BOTS_METRICS,
        dimensions: BOTS_DIMENSIONS,
        qualifiers: &[],
        permission: "analytics:botAggregate:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
    Source {
        segment: "actions",
        endpoint: "actions_aggregates",
        jobs_endpoint: Some("actions_aggregate_jobs"),
        domain: "action",
        metrics: ACTIONS_METRICS,
        dimensions: ACTIONS_DIMENSIONS,
        qualifiers: &[],
        permission: "integrations:action:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
    Source {
        segment: "surveys",
        endpoint: "surveys_aggregates",
        jobs_endpoint: Some("surveys_aggregate_jobs"),
        domain: "survey",
        metrics: SURVEYS_METRICS,
        dimensions: SURVEYS_DIMENSIONS,
        qualifiers: &[],
        permission: "analytics:surveyAggregate:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
    Source {
        segment: "evaluations",
        endpoint: "evaluations_aggregates",
        jobs_endpoint: Some("evaluations_aggregate_jobs"),
        domain: "evaluation",
        metrics: EVALUATIONS_METRICS,
        dimensions: EVALUATIONS_DIMENSIONS,
        qualifiers: &[],
        permission: "analytics:evaluationAggregate:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
    Source {
        segment: "transcripts",
        endpoint: "transcripts_aggregates",
        jobs_endpoint: Some("transcripts_aggregate_jobs"),
        domain: "transcript",
        metrics: TRANSCRIPTS_METRICS,
        dimensions: TRANSCRIPTS_DIMENSIONS,
        qualifiers: &[],
        permission: "analytics:speechAndTextAnalyticsAggregates:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
    Source {
        segment: "flowexecutions",
        endpoint: "flowexecutions_aggregates",
        jobs_endpoint: None,
        domain: "flow_execution",
        metrics: FLOWEXECUTIONS_METRICS,
        dimensions: FLOWEXECUTIONS_DIMENSIONS,
        qualifiers: &[],
        permission: "analytics:flowExecutionAggregate:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
    Source {
        segment: "ratelimits",
        endpoint: "ratelimits_aggregates",
        jobs_endpoint: None,
        domain: "rate_limit",
        metrics: RATELIMITS_METRICS,
        dimensions: RATELIMITS_DIMENSIONS,
        qualifiers: &[],
        permission: "analytics:rateLimitAggregate:view",
        predicate_caps: &[],
        timer_stats: &TIMER_STATS,
    },
];

/// The source a config's `source:` names, if there is one.
pub fn source(segment: &str) -> Option<&'static Source> {
    SOURCES.iter().find(|s| s.segment == segment)
}

/// Every source's segment, for "expected one of" messages.
pub fn segments() -> impl Iterator<Item = &'static str> {
    SOURCES.iter().map(|s| s.segment)
}

/// The sources other than `except` that list `metric`: the hint "nFlow is a flows
/// metric: add `source: flows`".
pub fn sources_listing_metric(metric: &str, except: &Source) -> Vec<&'static Source> {
    SOURCES
        .iter()
        .filter(|s| *s != except && s.metrics.binary_search(&metric).is_ok())
        .collect()
}

impl Source {
    /// The start of every series name of the source: `genesys_{domain}_`.
    pub fn prefix(&self) -> String {
        format!("genesys_{}_", self.domain)
    }

    /// The path of the synchronous aggregates query.
    pub fn aggregates_path(&self) -> String {
        format!("/api/v2/analytics/{}/aggregates/query", self.segment)
    }

    /// The path asynchronous aggregate jobs are submitted to.
    pub fn jobs_path(&self) -> String {
        format!("/api/v2/analytics/{}/aggregates/jobs", self.segment)
    }

    /// The path of one job's status (`GET`) and cancellation (`DELETE`).
    pub fn job_path(&self, job: &str) -> String {
        format!("/api/v2/analytics/{}/aggregates/jobs/{job}", self.segment)
    }

    /// The path of one job's pages of results.
    pub fn job_results_path(&self, job: &str) -> String {
        format!(
            "/api/v2/analytics/{}/aggregates/jobs/{job}/results",
            self.segment
        )
    }

    /// The named qualifier of `metric`, if its qualifier has a known meaning.
    pub fn qualifier(&self, metric: &str) -> Option<&'static Qualifier> {
        self.qualifiers.iter().find(|q| q.metric == metric)
    }

    /// The cap on `dimension`'s predicates in one request, if the source has one.
    pub fn predicate_cap(&self, dimension: &str) -> Option<usize> {
        self.predicate_caps
            .iter()
            .find(|(d, _)| *d == dimension)
            .map(|(_, cap)| *cap)
    }
}

/// Metrics of `POST /api/v2/analytics/users/aggregates/query` (3): the SDK's view `target` enum.
pub const USERS_METRICS: &[&str] = &[
    "tAgentRoutingStatus",
    "tOrganizationPresence",
    "tSystemPresence",
];

/// Group-by and filter dimensions of the `users` source (1): the SDK's predicate `dimension` enum.
pub const USERS_DIMENSIONS: &[&str] = &["userId"];

/// Metrics of `POST /api/v2/analytics/flows/aggregates/query` (9): the SDK's view `target` enum.
pub const FLOWS_METRICS: &[&str] = &[
    "nFlow",
    "nFlowMilestone",
    "nFlowOutcome",
    "nFlowOutcomeFailed",
    "oFlowMilestone",
    "tFlow",
    "tFlowDisconnect",
    "tFlowExit",
    "tFlowOutcome",
];

/// Group-by and filter dimensions of the `flows` source (101): the SDK's predicate `dimension` enum.
pub const FLOWS_DIMENSIONS: &[&str] = &[
    "activeRouting",
    "activeSkillId",
    "addressFrom",
    "addressTo",
    "agentAssistantId",
    "agentBullseyeRing",
    "agentOwned",
    "agentRank",
    "agentScore",
    "ani",
    "assignerId",
    "authenticated",
    "canonicalExternalContactId",
    "conversationId",
    "conversationInitiator",
    "convertedFrom",
    "convertedTo",
    "customerParticipation",
    "deliveryStatus",
    "destinationAddress",
    "direction",
    "disconnectType",
    "divisionId",
    "dnis",
    "edgeId",
    "eligibleAgentCount",
    "endingLanguage",
    "entryReason",
    "entryType",
    "errorCode",
    "exitReason",
    "extendedDeliveryStatus",
    "externalContactId",
    "externalMediaCount",
    "externalOrganizationId",
    "externalTag",
    "firstQueue",
    "flaggedReason",
    "flowId",
    "flowInType",
    "flowMilestoneId",
    "flowName",
    "flowOutType",
    "flowOutcome",
    "flowOutcomeId",
    "flowOutcomeValue",
    "flowSubType",
    "flowType",
    "flowVersion",
    "groupId",
    "interactionType",
    "journeyActionId",
    "journeyActionMapId",
    "journeyActionMapVersion",
    "journeyCustomerId",
    "journeyCustomerIdType",
    "journeyCustomerSessionId",
    "journeyCustomerSessionIdType",
    "knowledgeBaseId",
    "mediaCount",
    "mediaType",
    "messageType",
    "originatingDirection",
    "outboundCampaignId",
    "outboundContactId",
    "outboundContactListId",
    "participantName",
    "peerId",
    "proposedAgentId",
    "provider",
    "purpose",
    "queueId",
    "recognitionFailureReason",
    "remote",
    "removedSkillId",
    "requestedLanguageId",
    "requestedRouting",
    "requestedRoutingSkillId",
    "roomId",
    "routingPriority",
    "routingRing",
    "routingRule",
    "routingRuleType",
    "scoredAgentId",
    "selectedAgentId",
    "selectedAgentRank",
    "selfServed",
    "sessionDnis",
    "sessionId",
    "skillExpressionId",
    "startingLanguage",
    "stationId",
    "teamId",
    "transferTargetAddress",
    "transferTargetName",
    "transferType",
    "usedRouting",
    "userId",
    "videoPresent",
    "waitingInteractionCount",
    "wrapUpCode",
];

/// Metrics of `POST /api/v2/analytics/bots/aggregates/query` (13): the SDK's view `target` enum.
pub const BOTS_METRICS: &[&str] = &[
    "nBotSessionTurns",
    "nBotSessions",
    "oBotIntent",
    "oBotSessionCollection",
    "oBotSessionCollectionSelfServed",
    "oBotSessionQuery",
    "oBotSessionQuerySelfServed",
    "oBotSessionTurn",
    "oBotSlot",
    "tBotDisconnect",
    "tBotExit",
    "tBotRecognitionFailure",
    "tBotSession",
];

/// Group-by and filter dimensions of the `bots` source (28): the SDK's predicate `dimension` enum.
pub const BOTS_DIMENSIONS: &[&str] = &[
    "askActionId",
    "askActionResult",
    "askActionType",
    "botFinalIntent",
    "botFlowSubType",
    "botFlowType",
    "botId",
    "botIntent",
    "botName",
    "botProduct",
    "botProvider",
    "botRecognitionFailureReason",
    "botResult",
    "botSessionId",
    "botSlot",
    "botSlotMechanism",
    "botVersion",
    "conversationId",
    "externalContactId",
    "intermediateIntentName",
    "knowledgeBaseId",
    "languageCode",
    "lastActionId",
    "lastInputActionId",
    "mediaType",
    "messageType",
    "previewMode",
    "selfServed",
];

/// Metrics of `POST /api/v2/analytics/actions/aggregates/query` (1): the SDK's view `target` enum.
pub const ACTIONS_METRICS: &[&str] = &["tTotalExecution"];

/// Group-by and filter dimensions of the `actions` source (8): the SDK's predicate `dimension` enum.
pub const ACTIONS_DIMENSIONS: &[&str] = &[
    "actionCategory",
    "actionId",
    "actionName",
    "correlationId",
    "errorType",
    "integrationId",
    "integrationName",
    "responseStatus",
];

/// Metrics of `POST /api/v2/analytics/surveys/aggregates/query` (19): the SDK's view `target` enum.
pub const SURVEYS_METRICS: &[&str] = &[
    "nSurveyErrors",
    "nSurveyFullResponses",
    "nSurveyNpsDetractors",
    "nSurveyNpsPromoters",
    "nSurveyNpsResponses",
    "nSurveyPartialResponses",
    "nSurveyQuestionGroupResponses",
    "nSurveyQuestionResponses",
    "nSurveyResponses",
    "nSurveysAbandoned",
    "nSurveysDeleted",
    "nSurveysExpired",
    "nSurveysSent",
    "nSurveysStarted",
    "nVoiceSurveys",
    "nWebSurveys",
    "oSurveyQuestionGroupScore",
    "oSurveyQuestionScore",
    "oSurveyTotalScore",
];

/// Group-by and filter dimensions of the `surveys` source (24): the SDK's predicate `dimension` enum.
pub const SURVEYS_DIMENSIONS: &[&str] = &[
    "conversationId",
    "divisionId",
    "externalContactId",
    "mediaType",
    "queueId",
    "requestedLanguageId",
    "requestedRoutingSkillId",
    "surveyAnswerId",
    "surveyCreatedDate",
    "surveyErrorReason",
    "surveyFormContextId",
    "surveyFormId",
    "surveyFormName",
    "surveyId",
    "surveyPartialResponse",
    "surveyPreviousStatus",
    "surveyPromoterScore",
    "surveyQuestionGroupId",
    "surveyQuestionId",
    "surveyStatus",
    "surveyType",
    "teamId",
    "userId",
    "wrapUpCode",
];

/// Metrics of `POST /api/v2/analytics/evaluations/aggregates/query` (5): the SDK's view `target` enum.
pub const EVALUATIONS_METRICS: &[&str] = &[
    "nEvaluations",
    "nEvaluationsDeleted",
    "nEvaluationsRescored",
    "oTotalCriticalScore",
    "oTotalScore",
];

/// Group-by and filter dimensions of the `evaluations` source (20): the SDK's predicate `dimension` enum.
pub const EVALUATIONS_DIMENSIONS: &[&str] = &[
    "assigneeApplicable",
    "assigneeId",
    "calibrationId",
    "contextId",
    "conversationId",
    "conversationStart",
    "divisionId",
    "evaluationContextId",
    "evaluationCreatedDate",
    "evaluationId",
    "evaluationReleaseDate",
    "evaluatorId",
    "formId",
    "mediaType",
    "queueId",
    "released",
    "rescored",
    "systemSubmitted",
    "teamId",
    "userId",
];

/// Metrics of `POST /api/v2/analytics/transcripts/aggregates/query` (11): the SDK's view `target` enum.
pub const TRANSCRIPTS_METRICS: &[&str] = &[
    "nSpeechTextAnalyzedConversations",
    "nTopicCommunications",
    "oCustomerSentiment",
    "oOverTalkSpeechInstances",
    "oSentimentScore",
    "tAgentSpeech",
    "tCustomerSpeech",
    "tOtherAudio",
    "tOverTalkSpeech",
    "tSilence",
    "tTotalSpeechAndSilence",
];

/// Group-by and filter dimensions of the `transcripts` source (21): the SDK's predicate `dimension` enum.
pub const TRANSCRIPTS_DIMENSIONS: &[&str] = &[
    "addressFrom",
    "addressTo",
    "ani",
    "categoryId",
    "channel",
    "conversationDuration",
    "conversationId",
    "direction",
    "divisionId",
    "dnis",
    "flowId",
    "flowVersion",
    "handleTime",
    "mediaType",
    "messageType",
    "queueId",
    "resultsBy",
    "teamId",
    "topicId",
    "userId",
    "wrapUpCode",
];

/// Metrics of `POST /api/v2/analytics/flowexecutions/aggregates/query` (1): the SDK's view `target` enum.
pub const FLOWEXECUTIONS_METRICS: &[&str] = &["nFlowExecutions"];

/// Group-by and filter dimensions of the `flowexecutions` source (4): the SDK's predicate `dimension` enum.
pub const FLOWEXECUTIONS_DIMENSIONS: &[&str] =
    &["divisionId", "flowId", "flowObjectId", "flowVersion"];

/// Metrics of `POST /api/v2/analytics/ratelimits/aggregates/query` (1): the SDK's view `target` enum.
pub const RATELIMITS_METRICS: &[&str] = &["oRateLimitRecorded"];

/// Group-by and filter dimensions of the `ratelimits` source (7): the SDK's predicate `dimension` enum.
pub const RATELIMITS_DIMENSIONS: &[&str] = &[
    "correlationId",
    "entityId",
    "limitName",
    "max",
    "namespace",
    "timeUnit",
    "userId",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_is_sorted_without_duplicates_and_every_row_is_unique() {
        for row in &SOURCES {
            for list in [row.metrics, row.dimensions] {
                assert!(
                    list.windows(2).all(|w| w[0] < w[1]),
                    "{}: a list is not sorted or has a duplicate",
                    row.segment
                );
            }
            for q in row.qualifiers {
                assert!(row.metrics.contains(&q.metric), "{}", q.metric);
            }
            for (dimension, _) in row.predicate_caps {
                assert!(row.dimensions.contains(dimension), "{dimension}");
            }
            assert_eq!(source(row.segment), Some(row));
        }
        for row in &SOURCES {
            let expected = match row.segment {
                "conversations" => "aggregates".to_string(),
                segment => format!("{segment}_aggregates"),
            };
            assert_eq!(row.endpoint, expected);
        }
        let mut domains: Vec<_> = SOURCES.iter().map(|s| s.domain).collect();
        domains.sort_unstable();
        domains.dedup();
        assert_eq!(domains.len(), SOURCES.len());
        assert_eq!(CONVERSATIONS.segment, "conversations");
    }

    #[test]
    fn a_metric_of_another_source_is_found_there() {
        let flows = source("flows").map(|s| s.segment);
        let found: Vec<_> = sources_listing_metric("nFlow", CONVERSATIONS)
            .iter()
            .map(|s| s.segment)
            .collect();
        assert_eq!(found, [flows.unwrap_or_default()]);
        assert!(sources_listing_metric("nOffered", CONVERSATIONS).is_empty());
        assert_eq!(
            source("users").and_then(|s| s.predicate_cap("userId")),
            Some(100)
        );
        assert_eq!(
            source("flows").map(|s| s.aggregates_path()).as_deref(),
            Some("/api/v2/analytics/flows/aggregates/query")
        );
    }
}
