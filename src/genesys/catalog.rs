//! The names Genesys Cloud accepts, in one place: the conversation aggregate metrics and
//! dimensions, and the queue observation metrics and dimensions.
//!
//! Config validation and the simulator both read these lists, so the exporter can never
//! accept a name the simulator refuses, or the other way round. The lists are the enums of
//! the official SDK models (Python SDK 269, Java SDK 259); Genesys adds names in new
//! releases, so a name outside them is most likely a typo but may be newer than this
//! catalogue (a query lists such names under `allow_unlisted`).
//!
//! Since the simulator checks requests against these same lists, only an outside source
//! can catch a wrong name: `tests/catalog_sdk.rs` holds every list here (and the
//! observation sets' detail metrics and media types, in `config`) against the enums of the
//! Python SDK pinned in `scripts/requirements-sdk.txt`, and fails on any difference that
//! `scripts/catalog-allowlist.toml` does not explain. A new list needs a row there.
//!
//! Every list is sorted, so lookups are binary searches. Use [`lookup`] for a name from a
//! user: it also gives the closest listed name for a "did you mean" hint.

/// Metrics of `POST /api/v2/analytics/conversations/aggregates/query` (82): `n…` counts,
/// `t…` timers in milliseconds, `o…` observations such as `oServiceLevel`.
pub const CONVERSATION_METRICS: &[&str] = &[
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
    "oCallbackServiceLevel",
    "oExternalAudioMessageCount",
    "oExternalMediaCount",
    "oMediaCount",
    "oMessageCount",
    "oMessageSegmentCount",
    "oMessageTurn",
    "oServiceLevel",
    "oServiceTarget",
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
    "tTransmitting",
    "tUserResponseTime",
    "tVoicemail",
    "tWait",
];

/// Dimensions of the conversation aggregates query (84), for `groupBy` and for filter
/// predicates of type `dimension`.
pub const CONVERSATION_DIMENSIONS: &[&str] = &[
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
    "skillExpressionId",
    "stationId",
    "teamId",
    "usedRouting",
    "userId",
    "videoPresent",
    "waitingInteractionCount",
    "wrapUpCode",
];

/// Metrics of `POST /api/v2/analytics/queues/observations/query` (real time, per queue).
/// They are *not* valid in a conversation aggregates query, nor the aggregates metrics
/// here, although both families have `o…` names.
pub const OBSERVATION_METRICS: &[&str] = &[
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

/// Filter dimensions of the queue observations query: a `queueId` predicate is required,
/// `mediaType` narrows it.
pub const OBSERVATION_DIMENSIONS: &[&str] = &["mediaType", "queueId"];

/// Whether a name is in a list, and if not, the listed name it most likely meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The name is in the list, spelt exactly so.
    Listed,
    /// The name is not in the list; `closest` is the listed name it is most likely a
    /// typo of (same letters in another case, or a few edits away), if any.
    Unlisted {
        /// The suggestion for "did you mean", if one is close enough.
        closest: Option<&'static str>,
    },
}

/// Looks `name` up in one of this module's lists (or any sorted list of names).
pub fn lookup(list: &'static [&'static str], name: &str) -> Lookup {
    if contains(list, name) {
        Lookup::Listed
    } else {
        Lookup::Unlisted {
            closest: closest(list, name),
        }
    }
}

/// Whether `name` is a conversation aggregate metric.
pub fn is_conversation_metric(name: &str) -> bool {
    contains(CONVERSATION_METRICS, name)
}

/// Whether `name` is a conversation aggregate dimension.
pub fn is_conversation_dimension(name: &str) -> bool {
    contains(CONVERSATION_DIMENSIONS, name)
}

/// Whether `name` is a queue observation metric.
pub fn is_observation_metric(name: &str) -> bool {
    contains(OBSERVATION_METRICS, name)
}

fn contains(list: &[&str], name: &str) -> bool {
    list.binary_search(&name).is_ok()
}

/// The listed name nearest to `name`: one that differs only in case (`queueID`), else the
/// one fewest edits away (an edit: a letter added, removed, changed, or two neighbours
/// swapped), if it is within a third of the name's length (at most three edits), so that a
/// short or unrelated word gets no far-fetched suggestion.
pub fn closest(list: &'static [&'static str], name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 100 {
        return None;
    }
    if let Some(same_letters) = list.iter().find(|listed| listed.eq_ignore_ascii_case(name)) {
        return Some(same_letters);
    }
    let allowed = (name.chars().count() / 3).clamp(1, 3);
    let wanted = name.to_ascii_lowercase();
    list.iter()
        .map(|listed| {
            (
                edit_distance(&wanted, &listed.to_ascii_lowercase()),
                *listed,
            )
        })
        .filter(|&(distance, _)| distance <= allowed)
        .min_by_key(|&(distance, listed)| (distance, listed.len()))
        .map(|(_, listed)| listed)
}

/// Edit distance with adjacent swaps (optimal string alignment): `tHandel` is one edit
/// from `tHandle`, as a typist would count it.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between a[..i] and b[..j]; three rows are enough.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTS: [(&str, &[&str]); 4] = [
        ("conversation metrics", CONVERSATION_METRICS),
        ("conversation dimensions", CONVERSATION_DIMENSIONS),
        ("observation metrics", OBSERVATION_METRICS),
        ("observation dimensions", OBSERVATION_DIMENSIONS),
    ];

    #[test]
    fn lists_are_sorted_without_duplicates_and_as_long_as_the_sdk_enums() {
        for (what, list) in LISTS {
            assert!(
                list.windows(2).all(|pair| pair[0] < pair[1]),
                "{what} are not strictly sorted"
            );
        }
        assert_eq!(CONVERSATION_METRICS.len(), 82);
        assert_eq!(CONVERSATION_DIMENSIONS.len(), 84);
        assert_eq!(OBSERVATION_METRICS.len(), 9);
    }

    #[test]
    fn the_two_metric_families_do_not_overlap() {
        for name in OBSERVATION_METRICS {
            assert!(!is_conversation_metric(name), "{name}");
        }
        for name in OBSERVATION_DIMENSIONS {
            assert!(is_conversation_dimension(name), "{name}");
        }
    }

    #[test]
    fn lookups_find_listed_names_and_suggest_for_typos() {
        assert_eq!(lookup(CONVERSATION_METRICS, "nOffered"), Lookup::Listed);
        assert_eq!(
            lookup(CONVERSATION_METRICS, "tTransmitting"),
            Lookup::Listed
        );
        assert_eq!(
            lookup(CONVERSATION_DIMENSIONS, "skillExpressionId"),
            Lookup::Listed
        );
        let suggestion = |list, name| match lookup(list, name) {
            Lookup::Listed => panic!("{name} is listed"),
            Lookup::Unlisted { closest } => closest,
        };
        assert_eq!(
            suggestion(CONVERSATION_METRICS, "nOfered"),
            Some("nOffered")
        );
        assert_eq!(suggestion(CONVERSATION_METRICS, "tHandel"), Some("tHandle"));
        assert_eq!(
            suggestion(CONVERSATION_METRICS, "noffered"),
            Some("nOffered")
        );
        assert_eq!(
            suggestion(CONVERSATION_DIMENSIONS, "queueID"),
            Some("queueId")
        );
        assert_eq!(
            suggestion(CONVERSATION_DIMENSIONS, "mediatype"),
            Some("mediaType")
        );
        assert_eq!(suggestion(OBSERVATION_METRICS, "oWaitng"), Some("oWaiting"));
        assert_eq!(suggestion(CONVERSATION_METRICS, "x"), None);
        assert_eq!(suggestion(CONVERSATION_METRICS, "nSomethingNew"), None);
        assert_eq!(suggestion(CONVERSATION_METRICS, ""), None);
        assert!(!is_conversation_metric("oWaiting"));
        assert!(is_observation_metric("oWaiting"));
    }

    #[test]
    fn edit_distance_counts_swaps_as_one_edit() {
        assert_eq!(edit_distance("", ""), 0);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("handel", "handle"), 1);
        assert_eq!(edit_distance("nofered", "noffered"), 1);
        assert_eq!(edit_distance("abcd", "badc"), 2);
    }
}
