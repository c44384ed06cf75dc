//! The help texts of the aggregates series: what each metric counts or times, in plain
//! words for the metrics contact centers use most.

const LAST_INTERVAL: &str = "in the last completed interval (polled in the background)";

pub(super) fn count_help(metric: &str) -> String {
    format!(
        "Genesys Cloud {metric}: {} {LAST_INTERVAL}",
        describe(metric)
    )
}

pub(super) fn timer_help(metric: &str, stat: &str) -> String {
    let what = match stat {
        "sum" => "total seconds",
        "count" => "number of measurements",
        "max" => "longest, in seconds",
        "min" => "shortest, in seconds",
        "p95" => "95th percentile, in seconds",
        _ => "99th percentile, in seconds",
    };
    format!(
        "Genesys Cloud {metric} ({}): {what}, {LAST_INTERVAL}",
        describe(metric)
    )
}

pub(super) fn observation_help(metric: &str, stat: &str) -> String {
    format!(
        "Genesys Cloud {metric} ({}): stat {stat}, {LAST_INTERVAL}",
        describe(metric)
    )
}

/// Plain words for the metrics contact centers use most; others keep their Genesys name.
fn describe(metric: &str) -> &'static str {
    match metric {
        "nOffered" => "conversations offered to a queue",
        "nConnected" => "conversations connected to an agent",
        "nTransferred" => "conversations transferred",
        "nBlindTransferred" => "conversations blind-transferred",
        "nConsultTransferred" => "conversations consult-transferred",
        "nOverSla" => "conversations answered after the service-level threshold",
        "nConversations" => "conversations",
        "nOutbound" => "outbound conversations",
        "nError" => "conversations that ended in an error",
        "tHandle" => "handle time: talk, hold and after-call work",
        "tTalk" => "talk time",
        "tTalkComplete" => "talk time of completed talk segments",
        "tHeld" => "hold time",
        "tHeldComplete" => "hold time of completed holds",
        "tAcw" => "after-call work time",
        "tAnswered" => "time to answer (speed of answer)",
        "tWait" => "time waiting in queue",
        "tAcd" => "time in the ACD queue",
        "tAlert" => "time alerting agents",
        "tAbandon" => "time to abandon; its count is the number of abandons",
        "tShortAbandon" => "time to a short abandon",
        "tIvr" => "time in IVR",
        "oServiceLevel" => "service level: answered within the threshold over offered",
        "tAgentRoutingStatus" => "time agents spent in each routing status",
        "tSystemPresence" => "time users spent in each system presence",
        "tOrganizationPresence" => "time users spent in each organization presence",
        "nFlow" => "conversations entering a flow",
        "tFlow" => "time in a flow",
        "tFlowExit" => "time in a flow left by an exit (to a queue or another flow)",
        "tFlowDisconnect" => "time in a flow that ended in a disconnect",
        "nFlowOutcome" => "flow outcomes reached",
        "nFlowOutcomeFailed" => "flow outcomes that failed",
        "tFlowOutcome" => "time to reach a flow outcome",
        "nFlowExecutions" => "flow executions",
        "nBotSessions" => "bot sessions",
        "tBotSession" => "bot session time",
        "tTotalExecution" => "data action execution time",
        "nSurveysSent" => "surveys sent",
        "nSurveyResponses" => "survey responses",
        "nEvaluations" => "quality evaluations",
        "oTotalScore" => "evaluation total score",
        "oRateLimitRecorded" => "rate-limit events recorded",
        _ => "see the Genesys Cloud analytics metric definitions",
    }
}
