//! The simulator's conversation details query: refusals naming their field, paging,
//! calls in progress, agreement with the aggregates of the same interval, and the answer
//! held against the official SDK's models. Real HTTP over loopback.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, TimeZone, Utc};
use genesys_cloud_exporter::simulator::{Fault, Simulator, SimulatorConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

const DETAILS: &str = "/api/v2/analytics/conversations/details/query";
/// A busy weekday quarter hour, safely in the past.
const BUSY: &str = "2026-11-24T10:00:00.000Z/2026-11-24T10:15:00.000Z";

/// The plan's request (issue 26): voice conversations of `interval`, page `page`.
fn request(interval: &str, page: u64) -> Value {
    json!({
        "interval": interval,
        "order": "asc",
        "orderBy": "conversationStart",
        "paging": {"pageSize": 100, "pageNumber": page},
        "segmentFilters": [{"type": "and", "predicates": [
            {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}
        ]}],
    })
}

async fn post(sim: &Simulator, token: &str, body: &Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!("{}{DETAILS}", sim.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("details request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Every page of `body` (its `paging.pageSize` kept), concatenated, and `totalHits`.
async fn all_pages(sim: &Simulator, token: &str, body: &Value) -> (Vec<Value>, u64) {
    let mut body = body.clone();
    let mut out = Vec::new();
    for page in 1.. {
        body["paging"]["pageNumber"] = json!(page);
        let (status, answer) = post(sim, token, &body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let total = answer["totalHits"].as_u64().expect("totalHits");
        match answer.get("conversations") {
            Some(Value::Array(conversations)) => {
                assert!(!conversations.is_empty(), "an empty list instead of no key");
                out.extend(conversations.iter().cloned());
            }
            None => return (out, total),
            Some(other) => panic!("conversations is {other}"),
        }
    }
    unreachable!()
}

fn ms(text: &str) -> i64 {
    DateTime::parse_from_rfc3339(text).map_or(i64::MIN, |t| t.timestamp_millis())
}

fn bounds(interval: &str) -> (i64, i64) {
    let (start, end) = interval.split_once('/').unwrap_or_default();
    (ms(start), ms(end))
}

/// The queue of a conversation: its `acd` participant's segment, or the agent's.
fn queue_of(conversation: &Value) -> String {
    let participants = conversation["participants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for purpose in ["acd", "agent"] {
        for p in participants.iter().filter(|p| p["purpose"] == purpose) {
            for s in p["sessions"].as_array().into_iter().flatten() {
                for g in s["segments"].as_array().into_iter().flatten() {
                    if let Some(queue) = g["queueId"].as_str() {
                        return queue.to_string();
                    }
                }
            }
        }
    }
    String::new()
}

/// Voice conversations per queue that ended in `[start, end)`, from a details answer.
fn ended_per_queue(conversations: &[Value], (start, end): (i64, i64)) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for c in conversations {
        let ended = c["conversationEnd"].as_str().map(ms);
        if ended.is_some_and(|t| (start..end).contains(&t)) {
            *out.entry(queue_of(c)).or_default() += 1;
        }
    }
    out
}

/// Voice conversations per queue the aggregates count as ended in `interval`: the
/// `tHandle` and `tAbandon` counts (a conversation's last measurement is one of them).
async fn aggregated_ends(sim: &Simulator, token: &str, interval: &str) -> BTreeMap<String, u64> {
    let body = json!({
        "interval": interval,
        "groupBy": ["queueId"],
        "filter": {"type": "and", "predicates": [{"dimension": "mediaType", "value": "voice"}]},
        "metrics": ["tHandle", "tAbandon"],
    });
    let answer: Value = reqwest::Client::new()
        .post(format!(
            "{}/api/v2/analytics/conversations/aggregates/query",
            sim.base_url()
        ))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("aggregates request")
        .json()
        .await
        .expect("aggregates JSON");
    let mut out = BTreeMap::new();
    for result in answer["results"].as_array().into_iter().flatten() {
        let queue = result["group"]["queueId"].as_str().unwrap_or_default();
        for data in result["data"].as_array().into_iter().flatten() {
            for metric in data["metrics"].as_array().into_iter().flatten() {
                let count = metric["stats"]["count"].as_u64().unwrap_or_default();
                *out.entry(queue.to_string()).or_default() += count;
            }
        }
    }
    out
}

fn ids(conversations: &[Value]) -> Vec<String> {
    conversations
        .iter()
        .map(|c| c["conversationId"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn refusals_name_their_field() {
    let sim = common::simulator(SimulatorConfig::default()).await;
    let token = common::token(&sim).await;
    let with = |patch: Value| {
        let mut body = request(BUSY, 1);
        for (key, value) in patch.as_object().into_iter().flatten() {
            body[key] = value.clone();
        }
        body
    };
    let mut no_interval = request(BUSY, 1);
    no_interval.as_object_mut().map(|o| o.remove("interval"));
    let cases = [
        (no_interval, "interval"),
        (with(json!({"interval": "yesterday"})), "interval"),
        (
            with(json!({"paging": {"pageSize": 101, "pageNumber": 1}})),
            "paging.pageSize",
        ),
        (with(json!({"paging": {"pageSize": 0}})), "paging.pageSize"),
        (
            with(json!({"paging": {"pageSize": 100, "pageNumber": 0}})),
            "paging.pageNumber",
        ),
        // Past the first 10,000 results.
        (
            with(json!({"paging": {"pageSize": 100, "pageNumber": 101}})),
            "paging.pageNumber",
        ),
        (with(json!({"order": "up"})), "order"),
        (with(json!({"orderBy": "mos"})), "orderBy"),
        (
            // mediaType is a segment dimension.
            with(
                json!({"conversationFilters": [{"type": "and", "predicates": [
                {"type": "dimension", "dimension": "mediaType", "value": "voice"}]}]}),
            ),
            "conversationFilters[0].predicates[0].dimension",
        ),
        (
            with(json!({"segmentFilters": [{"type": "and", "predicates": [
                {"dimension": "mediatype", "value": "voice"}]}]})),
            "segmentFilters[0].predicates[0].dimension",
        ),
        (
            with(json!({"segmentFilters": [{"type": "nand", "predicates": [
                {"dimension": "mediaType", "value": "voice"}]}]})),
            "segmentFilters[0].type",
        ),
    ];
    for (body, field) in cases {
        let (status, answer) = post(&sim, &token, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(answer["code"], "bad.request", "{answer}");
        assert_eq!(answer["status"], 400);
        assert_eq!(answer["details"][0]["fieldName"], field, "{body}: {answer}");
    }
    // The last page within the cap is fine, and so is the plan's request.
    let last = with(json!({"paging": {"pageSize": 100, "pageNumber": 100}}));
    assert_eq!(post(&sim, &token, &last).await.0, StatusCode::OK);
    assert_eq!(
        post(&sim, &token, &request(BUSY, 1)).await.0,
        StatusCode::OK
    );
    let (status, _) = post(&sim, "not-a-token", &request(BUSY, 1)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Fault rules apply to the path as to any other.
    sim.inject_fault(Fault {
        path_prefix: DETAILS.into(),
        status: 503,
        retry_after: None,
        count: 1,
    });
    assert_eq!(
        post(&sim, &token, &request(BUSY, 1)).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        post(&sim, &token, &request(BUSY, 1)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn pages_concatenate_to_total_hits_in_order() {
    let sim = common::simulator(SimulatorConfig::default()).await;
    let token = common::token(&sim).await;
    let mut body = request(BUSY, 1);
    body["paging"]["pageSize"] = json!(25);
    let (conversations, total) = all_pages(&sim, &token, &body).await;
    assert!(
        total > 25 * 3,
        "{total} conversations in a busy quarter hour"
    );
    assert_eq!(conversations.len() as u64, total);
    let listed = ids(&conversations);
    assert_eq!(listed.iter().collect::<BTreeSet<_>>().len(), listed.len());
    let starts: Vec<i64> = conversations
        .iter()
        .map(|c| ms(c["conversationStart"].as_str().unwrap_or_default()))
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "not ascending");
    // Voice only, each one active in the interval.
    let (start, end) = bounds(BUSY);
    for c in &conversations {
        let sessions = c["participants"][0]["sessions"][0].clone();
        assert_eq!(sessions["mediaType"], "voice", "{c}");
        assert!(starts.iter().all(|s| *s < end));
        let ended = ms(c["conversationEnd"].as_str().unwrap_or_default());
        assert!(ended >= start, "{c}");
    }
    // Descending is the same set, backwards.
    body["order"] = json!("desc");
    let (backwards, again) = all_pages(&sim, &token, &body).await;
    assert_eq!(again, total);
    let mut reversed = ids(&backwards);
    reversed.reverse();
    let starts_back: Vec<i64> = backwards
        .iter()
        .rev()
        .map(|c| ms(c["conversationStart"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(starts_back, starts);
    assert_eq!(
        reversed.iter().collect::<BTreeSet<_>>(),
        listed.iter().collect::<BTreeSet<_>>()
    );
}

#[tokio::test]
async fn voice_conversations_ending_in_an_interval_are_those_the_aggregates_count() {
    let sim = common::simulator(SimulatorConfig::default()).await;
    let token = common::token(&sim).await;
    let (conversations, _) = all_pages(&sim, &token, &request(BUSY, 1)).await;
    let from_details = ended_per_queue(&conversations, bounds(BUSY));
    assert!(from_details.len() > 3, "{from_details:?}");
    assert_eq!(from_details, aggregated_ends(&sim, &token, BUSY).await);
    // Every ended call has its quality: MOS, R-factor, and the customer's media stats.
    for c in conversations
        .iter()
        .filter(|c| c.get("conversationEnd").is_some())
    {
        let mos = c["mediaStatsMinConversationMos"].as_f64().expect("MOS");
        assert!((1.0..=5.0).contains(&mos), "{c}");
        assert!(c["mediaStatsMinConversationRFactor"].as_f64().is_some());
        let customer = &c["participants"][0];
        assert!(["customer", "external"].contains(&customer["purpose"].as_str().unwrap_or("")));
        let session = &customer["sessions"][0];
        assert!(session["edgeId"].as_str().is_some(), "{c}");
        let stats = &session["mediaEndpointStats"][0];
        assert_eq!(stats["minMos"].as_f64(), Some(mos));
        assert!(stats["receivedPackets"].as_u64().unwrap_or_default() > 0);
        assert!(
            stats["codecs"][0]
                .as_str()
                .is_some_and(|c| c.starts_with("audio/"))
        );
    }
}

#[tokio::test]
async fn calls_in_progress_come_back_without_an_end_or_a_mos() {
    let sim = common::simulator(SimulatorConfig::default()).await;
    let now = Utc
        .with_ymd_and_hms(2026, 11, 24, 10, 7, 30)
        .single()
        .expect("a time");
    sim.freeze_clock(now);
    let token = common::token(&sim).await;
    let (conversations, _) = all_pages(&sim, &token, &request(BUSY, 1)).await;
    let now_ms = now.timestamp_millis();
    let going: Vec<&Value> = conversations
        .iter()
        .filter(|c| c.get("conversationEnd").is_none())
        .collect();
    assert!(going.len() > 3, "{} calls in progress", going.len());
    let started_before = going
        .iter()
        .filter(|c| ms(c["conversationStart"].as_str().unwrap_or_default()) < bounds(BUSY).0)
        .count();
    assert!(
        started_before > 0,
        "no call from before the interval still going"
    );
    for c in &conversations {
        assert!(ms(c["conversationStart"].as_str().unwrap_or_default()) <= now_ms);
        if let Some(end) = c["conversationEnd"].as_str() {
            assert!(ms(end) <= now_ms);
        }
    }
    for c in going {
        let agent_open = c["participants"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|p| {
                p["sessions"][0]["segments"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .any(|g| g.get("segmentEnd").is_none());
        assert!(
            agent_open,
            "a call in progress with every segment ended: {c}"
        );
        // The media stats come when the customer's side ends, not before.
        let customer = &c["participants"][0]["sessions"][0];
        let talking = customer["segments"][0].get("segmentEnd").is_none();
        let voice = customer["mediaType"] == "voice";
        assert_eq!(
            talking,
            c.get("mediaStatsMinConversationMos").is_none(),
            "{c}"
        );
        assert_eq!(
            talking || !voice,
            customer.get("mediaEndpointStats").is_none(),
            "{c}"
        );
    }
    // What has ended so far is what the aggregates have counted so far.
    let from_details = ended_per_queue(&conversations, bounds(BUSY));
    assert_eq!(from_details, aggregated_ends(&sim, &token, BUSY).await);
}

#[tokio::test]
async fn only_conversations_started_on_a_day_the_interval_touches() {
    let config = SimulatorConfig {
        busy_all_day: true,
        ..SimulatorConfig::default()
    };
    let sim = common::simulator(config).await;
    let token = common::token(&sim).await;
    let midnight = "2026-11-25T00:00:00.000Z/2026-11-25T00:15:00.000Z";
    let (after, _) = all_pages(&sim, &token, &request(midnight, 1)).await;
    let day = bounds(midnight).0;
    assert!(
        after
            .iter()
            .all(|c| ms(c["conversationStart"].as_str().unwrap_or_default()) >= day)
    );
    // Starting the interval a millisecond earlier touches the day before: the calls that
    // started then and ended after midnight come back, and agree with the aggregates.
    let widened = "2026-11-24T23:59:59.999Z/2026-11-25T00:15:00.000Z";
    let (all, _) = all_pages(&sim, &token, &request(widened, 1)).await;
    assert!(all.len() > after.len());
    let ended = ended_per_queue(&all, bounds(midnight));
    assert_eq!(ended, aggregated_ends(&sim, &token, midnight).await);
}

/// The answers held against the official SDK's models (scripts/check_sdk.py --details).
#[tokio::test]
async fn answers_parse_into_the_sdk_models() {
    let sim = common::simulator(SimulatorConfig::default()).await;
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let python = repo.join("target/venv-sdk/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test installs the SDK (scripts/requirements-sdk.txt)",
        python.display()
    );
    let base = sim.base_url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(repo.join("scripts/check_sdk.py"))
            .args(["--details", &base, common::CLIENT_ID, common::CLIENT_SECRET])
            .output()
    })
    .await
    .expect("the check runs")
    .expect("python starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert!(text.contains("0 failures"), "{text}");
}

#[tokio::test]
async fn filters_narrow_to_what_the_answer_shows() {
    let sim = common::simulator(SimulatorConfig::default()).await;
    let token = common::token(&sim).await;
    let (voice, _) = all_pages(&sim, &token, &request(BUSY, 1)).await;
    let queue = queue_of(&voice[0]);
    let mut body = request(BUSY, 1);
    body["segmentFilters"][0]["predicates"]
        .as_array_mut()
        .expect("predicates")
        .push(json!({"type": "dimension", "dimension": "queueId", "value": queue}));
    let (one_queue, _) = all_pages(&sim, &token, &body).await;
    let expected: Vec<&Value> = voice.iter().filter(|c| queue_of(c) == queue).collect();
    assert_eq!(one_queue.len(), expected.len());
    assert!(one_queue.iter().all(|c| queue_of(c) == queue));

    let mut outbound = request(BUSY, 1);
    outbound["conversationFilters"] = json!([{"type": "and", "predicates": [
        {"dimension": "originatingDirection", "value": "outbound"}]}]);
    let (dialled, _) = all_pages(&sim, &token, &outbound).await;
    assert!(!dialled.is_empty());
    assert!(
        dialled
            .iter()
            .all(|c| c["originatingDirection"] == "outbound")
    );
    assert!(
        dialled
            .iter()
            .all(|c| c["participants"][0]["purpose"] == "external")
    );

    // Without a media filter every media type comes back; calls alone carry a MOS.
    let mut everything = request(BUSY, 1);
    everything
        .as_object_mut()
        .map(|o| o.remove("segmentFilters"));
    let (all, _) = all_pages(&sim, &token, &everything).await;
    assert!(all.len() > voice.len());
    for c in &all {
        let media = &c["participants"][0]["sessions"][0]["mediaType"];
        assert_eq!(
            c.get("mediaStatsMinConversationMos").is_some(),
            media == "voice" && c.get("conversationEnd").is_some(),
            "{c}"
        );
    }

    // The model has no evaluations: an evaluation filter matches nothing.
    everything["evaluationFilters"] = json!([{"type": "and", "predicates": [
        {"type": "dimension", "dimension": "evaluationId", "value": "x"}]}]);
    let (status, answer) = post(&sim, &token, &everything).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answer, json!({"totalHits": 0}));
}
