//! Every Genesys API call the exporter can make, and the permission the OAuth client's
//! role needs for it.
//!
//! This is the table the permissions table of docs/security.md is held to
//! (`tests/permissions.rs`): a call with no row there would send a user who grants
//! "exactly these permissions" into a 403. The paths come from the constants the client
//! sends to ([`super::region::TOKEN_PATH`], every source's
//! [`Source::aggregates_path`](super::sources::Source::aggregates_path),
//! [`super::OBSERVATIONS_PATH`], the listings of [`super::names::DIMENSIONS`]), and the
//! same test scans the sources for API paths this table does not know.

use std::sync::LazyLock;

use super::AGENT_COUNTS_PATH;
use super::OBSERVATIONS_PATH;
use super::details::DETAILS_PATH;
use super::names::DIMENSIONS;
use super::notifications::{CHANNELS_PATH, SUBSCRIPTIONS_PATH};
use super::region::TOKEN_PATH;
use super::sources::SOURCES;
use super::trunks::{TRUNK_METRICS_PATH, TRUNKS_PATH};
use super::user_states::QUEUE_MEMBERS_PATH;

/// Every source's aggregates path, in the order of [`SOURCES`], made once so that the
/// table's paths can be `'static` like the other calls'.
static AGGREGATES_PATHS: LazyLock<Vec<String>> =
    LazyLock::new(|| SOURCES.iter().map(|s| s.aggregates_path()).collect());

/// One source's asynchronous aggregate jobs calls: its permission, then each call's
/// method and path (`{jobId}` standing for the job's id).
type JobCalls = (&'static str, [(&'static str, String); 4]);

/// The jobs calls of every source that has them, in the order of [`SOURCES`].
static JOB_CALLS: LazyLock<Vec<JobCalls>> = LazyLock::new(|| {
    SOURCES
        .iter()
        .filter(|s| s.jobs_endpoint.is_some())
        .map(|s| {
            (
                s.permission,
                [
                    ("POST", s.jobs_path()),
                    ("GET", s.job_path("{jobId}")),
                    ("GET", s.job_results_path("{jobId}")),
                    ("DELETE", s.job_path("{jobId}")),
                ],
            )
        })
        .collect()
});

/// One kind of request the exporter sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// The path, without query string.
    pub path: &'static str,
    /// The permission the role needs; `None` for the token, which needs the client
    /// credentials grant and no permission.
    pub permission: Option<&'static str>,
}

/// Every API call: the token, the queue observations, every source's aggregates query
/// (each with the permission of its row in the source table), then the name listings
/// (each with the permission of its row in the names directory).
pub fn api_calls() -> Vec<ApiCall> {
    let mut calls = vec![
        ApiCall {
            method: "POST",
            path: TOKEN_PATH,
            permission: None,
        },
        ApiCall {
            method: "POST",
            path: OBSERVATIONS_PATH,
            permission: Some("analytics:queueObservation:view"),
        },
    ];
    // Agents now (observation sets with `source: agents`); SDK 269's AnalyticsApi
    // `post_analytics_agents_status_counts` requires `analytics:agentState:view`.
    calls.push(ApiCall {
        method: "POST",
        path: AGENT_COUNTS_PATH,
        permission: Some("analytics:agentState:view"),
    });
    // Trunk sets: SDK TelephonyProvidersEdgeApi `get_telephony_providers_edges_trunks`
    // and `get_telephony_providers_edges_trunks_metrics` both require
    // `telephony:plugin:all`.
    calls.extend([TRUNKS_PATH, TRUNK_METRICS_PATH].map(|path| ApiCall {
        method: "GET",
        path,
        permission: Some("telephony:plugin:all"),
    }));
    // Voice quality sets (issue 26): the conversation details query, which reads
    // per-conversation data (participants, numbers) and so needs its own permission.
    calls.push(ApiCall {
        method: "POST",
        path: DETAILS_PATH,
        permission: Some("analytics:conversationDetail:view"),
    });
    // Pushed sets (issue 24): a notification channel and its subscriptions need no
    // permission of their own (the SDK's NotificationsApi names none); each topic needs
    // its own, checked at subscription (`analytics:queueObservation:view` for a queue's
    // observations, the same as its REST query above).
    calls.extend(
        [("POST", CHANNELS_PATH), ("PUT", SUBSCRIPTIONS_PATH)].map(|(method, path)| ApiCall {
            method,
            path,
            permission: None,
        }),
    );
    // A pushed agents set's `per_queue`: each queue's joined members, SDK RoutingApi
    // `get_routing_queue_members` ("Requires ANY permissions: routing:queue:view,
    // routing:queue:edit, routing:queue:readonly, routing:queueMember:manage"); the
    // narrowest that the queue listing also needs.
    calls.push(ApiCall {
        method: "GET",
        path: QUEUE_MEMBERS_PATH,
        permission: Some("routing:queue:view"),
    });
    // POST /api/v2/analytics/{segment}/aggregates/query, one per source (issue 23).
    calls.extend(
        SOURCES
            .iter()
            .zip(AGGREGATES_PATHS.iter())
            .map(|(source, path)| ApiCall {
                method: "POST",
                path,
                permission: Some(source.permission),
            }),
    );
    // Asynchronous aggregate jobs (backfill, issue 25): the permission of the source's
    // synchronous query (the SDK's `post_analytics_{segment}_aggregates_jobs` and the
    // status, results and delete calls require the same one).
    calls.extend(JOB_CALLS.iter().flat_map(|(permission, calls)| {
        calls.iter().map(|(method, path)| ApiCall {
            method,
            path,
            permission: Some(permission),
        })
    }));
    calls.extend(DIMENSIONS.iter().map(|dimension| ApiCall {
        method: "GET",
        path: dimension.path,
        permission: Some(dimension.permission),
    }));
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_is_listed_once() {
        let calls = api_calls();
        for (i, call) in calls.iter().enumerate() {
            assert!(
                !calls[..i]
                    .iter()
                    .any(|c| c.path == call.path && c.method == call.method),
                "{} {} listed twice",
                call.method,
                call.path
            );
        }
    }
}
