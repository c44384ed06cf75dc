//! `GET /api/v2/telephony/providers/edges/trunks` (the org's trunks, paged as Genesys
//! pages listings) and `GET /api/v2/telephony/providers/edges/trunks/metrics?trunkIds=`
//! (the calls on each now), answered from the world's trunks ([`crate::world::trunks`]).
//!
//! The metrics refuse a request without `trunkIds` or with more than
//! [`MAX_TRUNK_IDS`] of them with a 400, as Genesys refuses an id list over its
//! maximum; ids the org does not have are left out of the answer.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::codec::form_pairs;
use super::listings::{self, Listed, PageSizeLimit};
use crate::world::World;
use crate::world::trunks::{TrunkNow, Trunks};

/// The trunk listing's path.
pub(crate) const TRUNKS_PATH: &str = "/api/v2/telephony/providers/edges/trunks";
/// The trunk metrics' path.
pub(crate) const TRUNK_METRICS_PATH: &str = "/api/v2/telephony/providers/edges/trunks/metrics";
/// Most trunk ids one metrics request may carry.
pub(crate) const MAX_TRUNK_IDS: usize = 100;

/// A Unix-millisecond instant as Genesys writes dates.
fn date(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Listed for TrunkNow {
    fn id(&self) -> &str {
        &self.id
    }

    /// The `Trunk` of the SDK, the fields the exporter reads and a few it does not.
    fn entity(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "state": "active",
            "trunkType": "EXTERNAL",
            "inService": true,
            "enabled": true,
            "connectedStatus": {
                "connected": self.connected,
                "connectedStateTime": date(self.connected_since_ms),
            },
            "edge": {"id": self.edge_id, "selfUri": format!("/api/v2/telephony/providers/edges/{}", self.edge_id)},
            "family": 4,
            "version": 1,
            "selfUri": format!("{TRUNKS_PATH}/{}", self.id),
        })
    }
}

/// One page of the listing at `now_ms`; the error is the message of a 400.
pub(crate) fn page(
    trunks: &Trunks,
    world: &World,
    query: Option<&str>,
    limit: PageSizeLimit,
    now_ms: i64,
) -> Result<Value, String> {
    listings::numbered(TRUNKS_PATH, &trunks.at(world, now_ms), query, limit)
}

/// The metrics of the trunks `trunkIds` names (comma-separated, or repeated) at
/// `now_ms`, in the order asked; the error is the message of a 400.
pub(crate) fn metrics(
    trunks: &Trunks,
    world: &World,
    query: Option<&str>,
    now_ms: i64,
) -> Result<Value, String> {
    let asked: Vec<String> = form_pairs(query.unwrap_or(""))
        .into_iter()
        .filter(|(key, _)| key == "trunkIds")
        .flat_map(|(_, value)| {
            value
                .split(',')
                .filter(|id| !id.is_empty())
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .collect();
    if asked.is_empty() {
        return Err("trunkIds is required: a comma-separated list of trunk ids".into());
    }
    if asked.len() > MAX_TRUNK_IDS {
        return Err(format!(
            "too many trunkIds: {} given, at most {MAX_TRUNK_IDS} a request",
            asked.len()
        ));
    }
    let now = trunks.at(world, now_ms);
    let answer: Vec<Value> = asked
        .iter()
        .filter_map(|id| now.iter().find(|t| &t.id == id))
        .map(|t| {
            json!({
                "eventTime": date(now_ms),
                "trunk": {"id": t.id, "selfUri": format!("{TRUNKS_PATH}/{}", t.id)},
                "logicalInterface": {"id": format!("{}-0", t.edge_id)},
                "calls": {"inboundCallCount": t.inbound_calls, "outboundCallCount": t.outbound_calls},
                "qos": {"mismatchCount": t.mismatches},
            })
        })
        .collect();
    Ok(Value::Array(answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AT: i64 = 1_795_515_630_000;

    #[test]
    fn the_metrics_refuse_more_ids_than_the_maximum_and_skip_unknown_ones() {
        let world = World::new(1, 8);
        let trunks = Trunks::new(1, 4);
        let ids: Vec<String> = (0..=MAX_TRUNK_IDS).map(|i| format!("id{i}")).collect();
        let err = metrics(
            &trunks,
            &world,
            Some(&format!("trunkIds={}", ids.join(","))),
            AT,
        )
        .unwrap_err();
        assert!(err.contains("at most 100"), "{err}");
        assert!(metrics(&trunks, &world, None, AT).is_err());
        let known = &trunks.at(&world, AT)[0].id;
        let answer = metrics(
            &trunks,
            &world,
            Some(&format!("trunkIds=unknown%2C{known}")),
            AT,
        )
        .unwrap();
        let answer = answer.as_array().unwrap();
        assert_eq!(answer.len(), 1);
        assert_eq!(answer[0]["trunk"]["id"], json!(known));
    }

    /// The calls on the trunks are the voice conversations the queue observations see
    /// in progress, less those in after-call work (the customer is gone): every one
    /// waiting or alerting is on a trunk, and every one on a trunk is in some state.
    #[test]
    fn the_calls_on_the_trunks_are_what_the_queue_observations_see_in_progress() {
        use crate::simulator::observations::{ConversationState, conversation_state};
        use crate::world::trunks::on_a_trunk;
        use crate::world::{MAX_SPAN_MS, Media};
        let world = World::new(1, 8);
        let (mut on_trunks, mut queued) = (0, 0);
        world.for_each_conversation(
            AT - MAX_SPAN_MS,
            AT + 1,
            |_, media| media == Media::Voice,
            |c| {
                let state = conversation_state(c, AT).map(|(state, _)| state);
                if on_a_trunk(c, AT) {
                    on_trunks += 1;
                    assert!(state.is_some(), "{c:?}");
                }
                if matches!(
                    state,
                    Some(ConversationState::Waiting | ConversationState::Alerting)
                ) {
                    queued += 1;
                    assert!(on_a_trunk(c, AT), "{c:?}");
                }
            },
        );
        let trunks = Trunks::new(1, 4).at(&world, AT);
        let calls: u32 = trunks
            .iter()
            .map(|t| t.inbound_calls + t.outbound_calls)
            .sum();
        assert_eq!(calls, on_trunks);
        assert!(
            queued > 0 && on_trunks > queued,
            "{queued} queued, {on_trunks} on trunks"
        );
    }

    #[test]
    fn the_listing_pages_every_trunk() {
        let world = World::new(1, 8);
        let trunks = Trunks::new(1, 5);
        let first = page(
            &trunks,
            &world,
            Some("pageSize=2&pageNumber=1"),
            PageSizeLimit::default(),
            AT,
        )
        .unwrap();
        assert_eq!(first["pageCount"], json!(3));
        assert_eq!(first["total"], json!(5));
        assert_eq!(first["entities"][0]["trunkType"], json!("EXTERNAL"));
        assert_eq!(
            first["entities"][1]["connectedStatus"]["connected"],
            json!(false)
        );
    }
}
