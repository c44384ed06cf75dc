//! Names the real conversation-aggregates API accepts.
//!
//! Genesys rejects unknown metric and dimension names with a 400, but accepts many
//! names the simulator does not model. Keeping the real catalogue lets a client be
//! tested against both behaviours: a typo is an error, an unmodelled name is just
//! "no data".

/// Conversation aggregate dimensions (`groupBy` and filter predicates).
pub(crate) const DIMENSIONS: &[&str] = &[
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
    "errorCode",
    "extendedDeliveryStatus",
    "externalContactId",
    "externalMediaCount",
    "externalOrganizationId",
    "externalTag",
    "firstQueue",
    "flaggedReason",
    "flowInType",
    "flowOutType",
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
    "originatingSocialMediaPublic",
    "outboundCampaignId",
    "outboundContactId",
    "outboundContactListId",
    "participantName",
    "peerId",
    "proposedAgentId",
    "provider",
    "purpose",
    "queueId",
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
    "stationId",
    "teamId",
    "usedRouting",
    "userId",
    "videoPresent",
    "waitingInteractionCount",
    "wrapUpCode",
];

/// Conversation aggregate metrics.
pub(crate) const METRICS: &[&str] = &[
    "nBlindTransferred",
    "nBotInteractions",
    "nCallbackAttempts",
    "nCobrowseSessions",
    "nConnected",
    "nConsult",
    "nConsultTransferred",
    "nConversations",
    "nError",
    "nOffered",
    "nOutbound",
    "nOutboundAbandoned",
    "nOutboundAttempted",
    "nOutboundConnected",
    "nOverSla",
    "nStateTransitionError",
    "nTransferred",
    "oAudioMessageCount",
    "oExternalAudioMessageCount",
    "oExternalMediaCount",
    "oMediaCount",
    "oMessageCount",
    "oMessageSegmentCount",
    "oMessageTurn",
    "oServiceLevel",
    "oServiceTarget",
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
    "tCoaching",
    "tCoachingComplete",
    "tConnected",
    "tContacting",
    "tDialing",
    "tFirstConnect",
    "tFirstDial",
    "tFirstEngagement",
    "tFirstResponse",
    "tFlowOut",
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
    "tUserResponseTime",
    "tVoicemail",
    "tWait",
];

/// Queue observation metrics (`QueueObservationQuery.metrics`, SDK enum). Not valid in
/// aggregates queries, as the aggregates metrics are not valid here.
pub(crate) const OBSERVATION_METRICS: &[&str] = &[
    "oActiveUsers",
    "oAlerting",
    "oInteracting",
    "oMemberUsers",
    "oOffQueueUsers",
    "oOnQueueUsers",
    "oUserPresences",
    "oUserRoutingStatuses",
    "oWaiting",
];

/// Whether `name` is a dimension the real API accepts.
pub(crate) fn is_dimension(name: &str) -> bool {
    DIMENSIONS.contains(&name)
}

/// Whether `name` is a metric the real API accepts.
pub(crate) fn is_metric(name: &str) -> bool {
    METRICS.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulator::traffic::{Dim, Metric};

    #[test]
    fn every_modelled_name_is_in_the_catalogue() {
        for m in Metric::ALL {
            assert!(is_metric(m.name()), "{} missing", m.name());
        }
        for d in Dim::ALL {
            assert!(is_dimension(d.name()), "{} missing", d.name());
        }
        assert!(!is_metric("nFoo"));
        assert!(!is_dimension("fooId"));
    }

    #[test]
    fn no_duplicates() {
        let mut m = METRICS.to_vec();
        m.sort_unstable();
        m.dedup();
        assert_eq!(m.len(), METRICS.len());
        let mut d = DIMENSIONS.to_vec();
        d.sort_unstable();
        d.dedup();
        assert_eq!(d.len(), DIMENSIONS.len());
    }
}
