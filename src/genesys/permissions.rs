//! Every Genesys API call the exporter can make, and the permission the OAuth client's
//! role needs for it.
//!
//! This is the table the permissions table of docs/security.md is held to
//! (`tests/permissions.rs`): a call with no row there would send a user who grants
//! "exactly these permissions" into a 403. The paths come from the constants the client
//! sends to ([`super::region::TOKEN_PATH`], [`super::AGGREGATES_PATH`],
//! [`super::OBSERVATIONS_PATH`], the listings of [`super::names::DIMENSIONS`]), and the
//! same test scans the sources for API paths this table does not know.

use super::names::DIMENSIONS;
use super::region::TOKEN_PATH;
use super::{AGENT_COUNTS_PATH, AGGREGATES_PATH, OBSERVATIONS_PATH};

/// One kind of request the exporter sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiCall {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path, without query string.
    pub path: &'static str,
    /// The permission the role needs; `None` for the token, which needs the client
    /// credentials grant and no permission.
    pub permission: Option<&'static str>,
}

/// Every API call: the token, the two data queries, then the name listings.
pub fn api_calls() -> Vec<ApiCall> {
    let mut calls = vec![
        ApiCall {
            method: "POST",
            path: TOKEN_PATH,
            permission: None,
        },
        ApiCall {
            method: "POST",
            path: AGGREGATES_PATH,
            permission: Some("analytics:conversationAggregate:view"),
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
    fn every_path_is_listed_once() {
        let calls = api_calls();
        for (i, call) in calls.iter().enumerate() {
            assert!(
                !calls[..i].iter().any(|c| c.path == call.path),
                "{} listed twice",
                call.path
            );
        }
    }
}
