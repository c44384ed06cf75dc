//! Trunks: `GET /api/v2/telephony/providers/edges/trunks` (the listing, paged) and
//! `GET /api/v2/telephony/providers/edges/trunks/metrics?trunkIds=a,b` (calls and QoS
//! now, a batch of ids a request), both through [`GenesysClient::send`] like every call.
//!
//! The shapes are the SDK's (platform-client-sdk-python, `TelephonyProvidersEdgeApi`
//! `get_telephony_providers_edges_trunks` -> `TrunkEntityListing` of `Trunk {id, name,
//! state (active, inactive, deleted), trunkType (EXTERNAL, PHONE, EDGE), inService,
//! connectedStatus {connected, connectedStateTime}, edge, ...}`, and
//! `get_telephony_providers_edges_trunks_metrics(trunk_ids)` -> `list[TrunkMetrics
//! {eventTime, trunk, logicalInterface, calls {inboundCallCount, outboundCallCount},
//! qos {mismatchCount}}]`; both require `telephony:plugin:all`). Both answers are read
//! as leniently as the others: each entity on its own, so one malformed trunk is
//! skipped (and counted), not the whole answer refused; unknown fields are ignored.

use std::time::Duration;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::bodies::{ListingPage, null_as_default};
use super::{ApiError, GenesysClient, LISTING_PAGE_SIZE_SAFE, documented};

/// The trunk listing.
pub const TRUNKS_PATH: &str = "/api/v2/telephony/providers/edges/trunks";
/// The metrics of a list of trunks.
pub const TRUNK_METRICS_PATH: &str = "/api/v2/telephony/providers/edges/trunks/metrics";
/// Trunk ids one metrics request carries. The SDK documents no maximum for `trunkIds`
/// (a comma-separated string); 100 is what Genesys' other id lists take (`id` on the
/// users listing, queue predicates of an observations query) and what integrations
/// built on this endpoint batch by.
pub const TRUNK_IDS_PER_REQUEST: usize = 100;
/// The page size of the trunk listing: the API's documented safe size (the SDK's
/// default is 25).
pub const TRUNK_PAGE_SIZE: u32 = LISTING_PAGE_SIZE_SAFE;
/// A listing longer than this many pages is cut there (and said in the log).
const MAX_PAGES: u32 = 100;

/// One trunk of the listing, the fields the exporter reads.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Trunk {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// `active`, `inactive` or `deleted`.
    #[serde(default)]
    pub state: Option<String>,
    /// `EXTERNAL`, `PHONE` or `EDGE`.
    #[serde(default)]
    pub trunk_type: Option<String>,
    #[serde(default)]
    pub in_service: Option<bool>,
    #[serde(default)]
    pub connected_status: Option<ConnectedStatus>,
    #[serde(default)]
    pub edge: Option<EntityRef>,
}

/// `TrunkConnectedStatus`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConnectedStatus {
    #[serde(default)]
    pub connected: Option<bool>,
}

/// A `DomainEntityRef`: only its id is read.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct EntityRef {
    #[serde(default)]
    pub id: Option<String>,
}

/// One trunk's `TrunkMetrics`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
pub struct TrunkMetrics {
    #[serde(default)]
    pub trunk: Option<EntityRef>,
    #[serde(default)]
    pub calls: Option<TrunkCalls>,
    #[serde(default)]
    pub qos: Option<TrunkQos>,
}

/// `TrunkMetricsCalls`: calls on the trunk now.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrunkCalls {
    #[serde(default)]
    pub inbound_call_count: Option<f64>,
    #[serde(default)]
    pub outbound_call_count: Option<f64>,
}

/// `TrunkMetricsQoS`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TrunkQos {
    #[serde(default)]
    pub mismatch_count: Option<f64>,
}

/// What the two calls of one refresh read: the trunks, their metrics, the entities
/// that could not be read, and the requests and budget wait it took.
#[derive(Debug, Default)]
pub struct TrunkAnswer {
    pub trunks: Vec<Trunk>,
    pub metrics: Vec<TrunkMetrics>,
    /// Entities skipped: not the documented JSON, or a trunk without an id.
    pub warnings: u64,
    pub requests: usize,
    pub budget_wait: Duration,
}

/// Reads each raw entity as `T`; returns how many could not be read.
fn read_each<T: for<'de> Deserialize<'de>>(entities: &[Box<RawValue>], into: &mut Vec<T>) -> u64 {
    let mut skipped = 0;
    for entity in entities {
        match serde_json::from_str::<T>(entity.get()) {
            Ok(value) => into.push(value),
            Err(_) => skipped += 1,
        }
    }
    skipped
}

/// The metrics answer: a JSON array (`null` reads as empty).
#[derive(Deserialize)]
#[serde(transparent)]
struct MetricsAnswer(#[serde(deserialize_with = "null_as_default")] Vec<Box<RawValue>>);

impl GenesysClient {
    /// Every trunk the client can see, then the metrics of all of them, at most
    /// [`TRUNK_IDS_PER_REQUEST`] ids a request: one refresh of a trunk set. Any failed
    /// request fails the whole (the caller keeps its last good values).
    pub async fn read_trunks(&self) -> Result<TrunkAnswer, ApiError> {
        let mut answer = TrunkAnswer::default();
        self.list_trunks(&mut answer).await?;
        let ids: Vec<String> = answer.trunks.iter().filter_map(|t| t.id.clone()).collect();
        for chunk in ids.chunks(TRUNK_IDS_PER_REQUEST) {
            let joined = chunk.join(",");
            let mut url = self.endpoints.api(TRUNK_METRICS_PATH);
            url.query_pairs_mut().append_pair("trunkIds", &joined);
            let delivered = self
                .send(
                    "trunk_metrics",
                    |http| http.get(url.clone()),
                    &mut super::Whole,
                )
                .await?;
            answer.requests += 1;
            answer.budget_wait += delivered.budget_wait;
            let entities: MetricsAnswer = documented("trunk_metrics", &delivered.value)?;
            answer.warnings += read_each(&entities.0, &mut answer.metrics);
        }
        Ok(answer)
    }

    /// Every page of the trunk listing, following `pageCount`; trunks without an id
    /// are skipped and counted.
    async fn list_trunks(&self, answer: &mut TrunkAnswer) -> Result<(), ApiError> {
        let mut page_size = TRUNK_PAGE_SIZE;
        for page_number in 1..=MAX_PAGES {
            let mut url = self.endpoints.api(TRUNKS_PATH);
            url.query_pairs_mut()
                .append_pair("pageSize", &page_size.to_string())
                .append_pair("pageNumber", &page_number.to_string());
            let delivered = self
                .send("trunks", |http| http.get(url.clone()), &mut super::Whole)
                .await?;
            answer.requests += 1;
            answer.budget_wait += delivered.budget_wait;
            let page: ListingPage = documented("trunks", &delivered.value)?;
            // A smaller page than asked for: later pages are asked at that size, so
            // that page numbers keep counting the same pages.
            if page_number == 1
                && let Some(served) = page.page_size.filter(|&s| s > 0 && s < page_size)
            {
                page_size = served;
            }
            let before = answer.trunks.len();
            answer.warnings += read_each(&page.entities, &mut answer.trunks);
            let listed = answer.trunks.split_off(before);
            for trunk in listed {
                if trunk.id.as_deref().is_some_and(|id| !id.is_empty()) {
                    answer.trunks.push(trunk);
                } else {
                    answer.warnings += 1;
                }
            }
            let last = page.entities.is_empty()
                || page.page_count.is_some_and(|count| page_number >= count)
                || (page.page_count.is_none() && page.next_uri.is_none());
            if last {
                return Ok(());
            }
        }
        tracing::warn!(
            pages = MAX_PAGES,
            "the trunk listing did not end; using what was read"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trunk_reads_the_sdk_fields_and_ignores_the_rest() {
        let trunk: Trunk = serde_json::from_str(
            r#"{"id": "t1", "name": "Carrier A", "state": "active", "trunkType": "EXTERNAL",
                "inService": true, "connectedStatus": {"connected": false, "connectedStateTime": "2026-12-06T10:00:00Z"},
                "edge": {"id": "e1", "selfUri": "/x"}, "family": 4, "optionsStatus": []}"#,
        )
        .unwrap();
        assert_eq!(trunk.id.as_deref(), Some("t1"));
        assert_eq!(trunk.trunk_type.as_deref(), Some("EXTERNAL"));
        assert_eq!(trunk.in_service, Some(true));
        assert_eq!(trunk.connected_status.unwrap().connected, Some(false));
        assert_eq!(trunk.edge.unwrap().id.as_deref(), Some("e1"));
    }

    #[test]
    fn malformed_entities_are_skipped_and_counted_one_by_one() {
        let answer: MetricsAnswer = serde_json::from_str(
            r#"[{"trunk": {"id": "t1"}, "calls": {"inboundCallCount": 3, "outboundCallCount": 1}, "qos": {"mismatchCount": 0}},
                {"trunk": {"id": "t2"}, "calls": {"inboundCallCount": "many"}},
                {"trunk": {"id": "t3"}}]"#,
        )
        .unwrap();
        let mut metrics: Vec<TrunkMetrics> = Vec::new();
        assert_eq!(read_each(&answer.0, &mut metrics), 1);
        assert_eq!(metrics.len(), 2);
        assert_eq!(
            metrics[0].calls.as_ref().unwrap().inbound_call_count,
            Some(3.0)
        );
        assert!(metrics[1].calls.is_none());
        let empty: MetricsAnswer = serde_json::from_str("null").unwrap();
        assert!(empty.0.is_empty());
    }
}
