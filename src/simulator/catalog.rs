//! Names the real conversation-aggregates API accepts.
//!
//! Genesys rejects unknown metric and dimension names with a 400, but accepts many
//! names the simulator does not model. Keeping the real catalogue lets a client be
//! tested against both behaviours: a typo is an error, an unmodelled name is just
//! "no data".
//!
//! Beside the names, the dimensions and metrics the simulator models ([`Dim`],
//! [`Metric`]): a subset of the catalogue, with the codes its traffic uses.

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

/// Whether `name` is a dimension the real API accepts.
pub(crate) fn is_dimension(name: &str) -> bool {
    DIMENSIONS.contains(&name)
}

/// Whether `name` is a metric the real API accepts.
pub(crate) fn is_metric(name: &str) -> bool {
    METRICS.contains(&name)
}

/// Dimensions the model gives values to. Any other catalogue dimension is valid in a
/// query but has no value (group key absent, `matches` never true).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dim {
    QueueId,
    MediaType,
    Direction,
    OriginatingDirection,
    UserId,
    WrapUpCode,
    Purpose,
}

/// Number of modelled dimensions (length of a dimension-value vector).
pub(crate) const DIM_COUNT: usize = 7;

/// The value codes of one measurement, indexed by [`Dim::index`]; `None` = absent.
pub(crate) type DimValues = [Option<u32>; DIM_COUNT];

impl Dim {
    pub(crate) const ALL: [Dim; DIM_COUNT] = [
        Dim::QueueId,
        Dim::MediaType,
        Dim::Direction,
        Dim::OriginatingDirection,
        Dim::UserId,
        Dim::WrapUpCode,
        Dim::Purpose,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Dim::QueueId => "queueId",
            Dim::MediaType => "mediaType",
            Dim::Direction => "direction",
            Dim::OriginatingDirection => "originatingDirection",
            Dim::UserId => "userId",
            Dim::WrapUpCode => "wrapUpCode",
            Dim::Purpose => "purpose",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Dim> {
        Dim::ALL.into_iter().find(|d| d.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// How a metric's stats are shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetricKind {
    /// `n…`: `{count}`.
    Count,
    /// `t…`: `{max, min, count, sum}` in milliseconds.
    Timer,
    /// `oServiceLevel`: `{ratio, numerator, denominator, target}`.
    ServiceLevel,
}

/// Metrics the model produces. Other catalogue metrics are valid but have no data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Metric {
    NOffered,
    NConnected,
    NTransferred,
    NBlindTransferred,
    NConsultTransferred,
    NOverSla,
    NConversations,
    NOutbound,
    THandle,
    TTalk,
    TTalkComplete,
    THeld,
    THeldComplete,
    TAcw,
    TAnswered,
    TWait,
    TAcd,
    TAlert,
    TAbandon,
    TShortAbandon,
    TDialing,
    OServiceLevel,
}

/// Number of modelled metrics.
pub(crate) const METRIC_COUNT: usize = 22;

impl Metric {
    pub(crate) const ALL: [Metric; METRIC_COUNT] = [
        Metric::NOffered,
        Metric::NConnected,
        Metric::NTransferred,
        Metric::NBlindTransferred,
        Metric::NConsultTransferred,
        Metric::NOverSla,
        Metric::NConversations,
        Metric::NOutbound,
        Metric::THandle,
        Metric::TTalk,
        Metric::TTalkComplete,
        Metric::THeld,
        Metric::THeldComplete,
        Metric::TAcw,
        Metric::TAnswered,
        Metric::TWait,
        Metric::TAcd,
        Metric::TAlert,
        Metric::TAbandon,
        Metric::TShortAbandon,
        Metric::TDialing,
        Metric::OServiceLevel,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Metric::NOffered => "nOffered",
            Metric::NConnected => "nConnected",
            Metric::NTransferred => "nTransferred",
            Metric::NBlindTransferred => "nBlindTransferred",
            Metric::NConsultTransferred => "nConsultTransferred",
            Metric::NOverSla => "nOverSla",
            Metric::NConversations => "nConversations",
            Metric::NOutbound => "nOutbound",
            Metric::THandle => "tHandle",
            Metric::TTalk => "tTalk",
            Metric::TTalkComplete => "tTalkComplete",
            Metric::THeld => "tHeld",
            Metric::THeldComplete => "tHeldComplete",
            Metric::TAcw => "tAcw",
            Metric::TAnswered => "tAnswered",
            Metric::TWait => "tWait",
            Metric::TAcd => "tAcd",
            Metric::TAlert => "tAlert",
            Metric::TAbandon => "tAbandon",
            Metric::TShortAbandon => "tShortAbandon",
            Metric::TDialing => "tDialing",
            Metric::OServiceLevel => "oServiceLevel",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn kind(self) -> MetricKind {
        match self {
            Metric::OServiceLevel => MetricKind::ServiceLevel,
            m if m.name().starts_with('t') => MetricKind::Timer,
            _ => MetricKind::Count,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
