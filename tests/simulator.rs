//! Integration tests of the Genesys Cloud simulator: real HTTP over loopback.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use genesys_cloud_exporter::genesys::catalog;
use genesys_cloud_exporter::simulator::{Fault, Simulator, SimulatorConfig};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";
const QUEUES: &str = "/api/v2/routing/queues";
/// A busy weekday hour, safely in the past.
const BUSY_HOUR: &str = "2026-11-24T10:00:00.000Z/2026-11-24T11:00:00.000Z";

async fn start(config: SimulatorConfig) -> Simulator {
    let listen = "127.0.0.1:0".parse().expect("loopback address");
    Simulator::start(config, listen)
        .await
        .expect("simulator starts")
}

async fn start_default() -> Simulator {
    start(SimulatorConfig::default()).await
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn login_with(sim: &Simulator, id: &str, secret: &str) -> reqwest::Response {
    client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request")
}

async fn token(sim: &Simulator) -> String {
    let response = login_with(sim, "demo-client", "demo-secret").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.expect("token JSON");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

async fn post_query(sim: &Simulator, token: &str, body: &Value) -> (StatusCode, HeaderMap, Value) {
    let response = client()
        .post(format!("{}{AGGREGATES}", sim.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("aggregates request");
    split(response).await
}

async fn get(
    sim: &Simulator,
    path_and_query: &str,
    token: Option<&str>,
) -> (StatusCode, HeaderMap, Value) {
    let mut request = client().get(format!("{}{path_and_query}", sim.base_url()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    split(request.send().await.expect("GET request")).await
}

async fn split(response: reqwest::Response) -> (StatusCode, HeaderMap, Value) {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("body");
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, body)
}

/// Asserts a Genesys `ErrorBody` with `status` and returns its message.
fn assert_error_body(body: &Value, status: u16) -> String {
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
    assert!(
        body["contextId"].as_str().is_some_and(|c| c.len() == 36),
        "{body}"
    );
    assert!(body["details"].is_array(), "{body}");
    assert_eq!(body["errors"], json!([]), "{body}");
    let message = body["message"].as_str().unwrap_or_default().to_string();
    assert!(!message.is_empty(), "{body}");
    message
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    header(headers, name).and_then(|v| v.parse().ok())
}

/// Flattens a response into `(group, interval, metric) -> stats`.
fn index(body: &Value) -> BTreeMap<(String, String, String), Value> {
    let mut out = BTreeMap::new();
    for result in body["results"].as_array().into_iter().flatten() {
        let group = result["group"].to_string();
        for data in result["data"].as_array().into_iter().flatten() {
            let interval = data["interval"].as_str().unwrap_or_default().to_string();
            for metric in data["metrics"].as_array().into_iter().flatten() {
                let name = metric["metric"].as_str().unwrap_or_default().to_string();
                out.insert(
                    (group.clone(), interval.clone(), name),
                    metric["stats"].clone(),
                );
            }
        }
    }
    out
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

#[tokio::test]
async fn token_is_issued_for_the_right_credentials() {
    let sim = start_default().await;
    let response = login_with(&sim, "demo-client", "demo-secret").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(response.headers(), "inin-ratelimit-count").is_none());
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86_400);
    let token = body["access_token"].as_str().unwrap_or_default();
    assert!(token.len() >= 32, "{body}");
    assert_eq!(sim.tokens_issued(), 1);
    // Tokens are random: a second login gives a different one.
    assert_ne!(self::token(&sim).await, token);
    assert_eq!(sim.tokens_issued(), 2);
}

#[tokio::test]
async fn token_endpoint_rejects_bad_credentials_and_grants() {
    let sim = start_default().await;
    for (id, secret) in [("demo-client", "wrong"), ("someone", "demo-secret")] {
        let response = login_with(&sim, id, secret).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["error"], "invalid_client");
        assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()));
        assert!(
            body["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
    // No Authorization header at all.
    let response = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_client");
    // Right credentials, wrong grant type.
    let response = client()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "password")])
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "unsupported_grant_type");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| d.contains("password"))
    );
    assert_eq!(sim.tokens_issued(), 0);
}

#[tokio::test]
async fn api_requires_a_valid_token() {
    let sim = start_default().await;
    let (status, headers, body) = get(&sim, QUEUES, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_body(&body, 401);
    assert!(header(&headers, "inin-correlation-id").is_some());
    let (status, _, body) = get(&sim, QUEUES, Some("made-up-token")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "bad.credentials");
    let (status, _, body) = post_query(
        &sim,
        "made-up-token",
        &json!({"interval": BUSY_HOUR, "metrics": ["nOffered"]}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_body(&body, 401);
}

#[tokio::test]
async fn expired_tokens_are_rejected() {
    let sim = start(SimulatorConfig {
        token_lifetime: Duration::from_secs(1),
        ..SimulatorConfig::default()
    })
    .await;
    let response = login_with(&sim, "demo-client", "demo-secret").await;
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(get(&sim, QUEUES, Some(&token)).await.0, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, _, body) = get(&sim, QUEUES, Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_body(&body, 401);
}

#[tokio::test]
async fn revoked_tokens_are_rejected_and_new_ones_work() {
    let sim = start_default().await;
    let old = token(&sim).await;
    assert_eq!(get(&sim, QUEUES, Some(&old)).await.0, StatusCode::OK);
    sim.revoke_tokens();
    let (status, _, body) = get(&sim, QUEUES, Some(&old)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_body(&body, 401);
    let new = token(&sim).await;
    assert_eq!(get(&sim, QUEUES, Some(&new)).await.0, StatusCode::OK);
    assert_eq!(sim.tokens_issued(), 2);
}

#[tokio::test]
async fn aggregates_have_the_genesys_shape() {
    let sim = start_default().await;
    let token = token(&sim).await;
    let query = json!({
        "interval": BUSY_HOUR,
        "granularity": "PT30M",
        "groupBy": ["queueId", "mediaType"],
        "filter": {"type": "and", "predicates": [
            {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}]},
        "metrics": ["nOffered", "nConnected", "tHandle", "tAbandon", "oServiceLevel"],
    });
    let (status, headers, body) = post_query(&sim, &token, &query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), Some("application/json"));
    let queue_ids: BTreeSet<String> = sim.queues().into_iter().map(|q| q.id).collect();
    let results = body["results"].as_array().expect("results");
    // The filter keeps voice only; every queue serves voice.
    assert_eq!(results.len(), queue_ids.len());
    for result in results {
        let group = result["group"].as_object().expect("group object");
        assert_eq!(group.len(), 2);
        assert!(queue_ids.contains(group["queueId"].as_str().unwrap_or_default()));
        assert_eq!(group["mediaType"], "voice");
        let data = result["data"].as_array().expect("data");
        let intervals: Vec<&str> = data.iter().filter_map(|d| d["interval"].as_str()).collect();
        assert_eq!(
            intervals,
            [
                "2026-11-24T10:00:00.000Z/2026-11-24T10:30:00.000Z",
                "2026-11-24T10:30:00.000Z/2026-11-24T11:00:00.000Z"
            ]
        );
        for bucket in data {
            for metric in bucket["metrics"].as_array().expect("metrics") {
                let stats = &metric["stats"];
                match metric["metric"].as_str().unwrap_or_default() {
                    "nOffered" | "nConnected" => {
                        assert_eq!(stats.as_object().map(|o| o.len()), Some(1));
                        assert!(int(&stats["count"]) > 0);
                    }
                    "tHandle" | "tAbandon" => {
                        let (max, min, count, sum) = (
                            int(&stats["max"]),
                            int(&stats["min"]),
                            int(&stats["count"]),
                            int(&stats["sum"]),
                        );
                        assert!(0 < min && min <= max && count > 0, "{stats}");
                        assert!(min * count <= sum && sum <= max * count, "{stats}");
                    }
                    "oServiceLevel" => {
                        let (num, den) = (int(&stats["numerator"]), int(&stats["denominator"]));
                        assert!(0 <= num && num <= den && den > 0, "{stats}");
                        let ratio = stats["ratio"].as_f64().unwrap_or(-1.0);
                        assert!((ratio - num as f64 / den as f64).abs() < 1e-9);
                        assert_eq!(stats["target"], 0.8);
                    }
                    other => panic!("unexpected metric {other}"),
                }
            }
        }
    }
}

#[tokio::test]
async fn aggregates_are_deterministic() {
    let query = json!({
        "interval": BUSY_HOUR, "granularity": "PT15M",
        "groupBy": ["queueId", "mediaType", "wrapUpCode"],
        "metrics": ["nOffered", "tHandle", "tTalk", "oServiceLevel"],
    });
    let sim = start_default().await;
    let token = token(&sim).await;
    let (_, _, first) = post_query(&sim, &token, &query).await;
    let (_, _, second) = post_query(&sim, &token, &query).await;
    assert!(!index(&first).is_empty());
    assert_eq!(first, second);
    // Another simulator with the same seed serves the same numbers...
    let twin = start_default().await;
    let twin_token = self::token(&twin).await;
    assert_eq!(post_query(&twin, &twin_token, &query).await.2, first);
    // ...and one with another seed does not.
    let other = start(SimulatorConfig {
        seed: 2,
        ..SimulatorConfig::default()
    })
    .await;
    let other_token = self::token(&other).await;
    assert_ne!(post_query(&other, &other_token, &query).await.2, first);
}

#[tokio::test]
async fn quarter_hours_add_up_to_the_hour() {
    let sim = start_default().await;
    let token = token(&sim).await;
    let metrics = json!([
        "nOffered",
        "nConnected",
        "nTransferred",
        "nOverSla",
        "tHandle",
        "tTalk",
        "tHeld",
        "tAcw",
        "tAnswered",
        "tWait",
        "tAcd",
        "tAlert",
        "tAbandon",
        "tShortAbandon",
        "oServiceLevel"
    ]);
    let group_by = json!(["queueId", "mediaType"]);
    let (_, _, hour) = post_query(
        &sim,
        &token,
        &json!({"interval": BUSY_HOUR, "granularity": "PT1H", "groupBy": group_by, "metrics": metrics}),
    )
    .await;
    let (_, _, quarters) = post_query(
        &sim,
        &token,
        &json!({"interval": BUSY_HOUR, "granularity": "PT15M", "groupBy": group_by, "metrics": metrics}),
    )
    .await;
    let hour = index(&hour);
    let quarters = index(&quarters);
    assert!(hour.len() > 40, "only {} series", hour.len());
    let mut checked = 0;
    for ((group, _, metric), stats) in &hour {
        let parts: Vec<&Value> = quarters
            .iter()
            .filter(|((g, _, m), _)| g == group && m == metric)
            .map(|(_, s)| s)
            .collect();
        assert!(!parts.is_empty() && parts.len() <= 4);
        let sum_of = |field: &str| {
            parts
                .iter()
                .map(|s| s[field].as_i64().unwrap_or(0))
                .sum::<i64>()
        };
        if metric.starts_with('t') {
            assert_eq!(int(&stats["count"]), sum_of("count"), "{group} {metric}");
            assert_eq!(int(&stats["sum"]), sum_of("sum"), "{group} {metric}");
            let max = parts.iter().map(|s| int(&s["max"])).max();
            let min = parts.iter().map(|s| int(&s["min"])).min();
            assert_eq!(Some(int(&stats["max"])), max, "{group} {metric}");
            assert_eq!(Some(int(&stats["min"])), min, "{group} {metric}");
        } else if metric == "oServiceLevel" {
            assert_eq!(int(&stats["numerator"]), sum_of("numerator"));
            assert_eq!(int(&stats["denominator"]), sum_of("denominator"));
        } else {
            assert_eq!(int(&stats["count"]), sum_of("count"), "{group} {metric}");
        }
        checked += 1;
    }
    // And nothing in the quarters is missing from the hour.
    let hour_series: BTreeSet<_> = hour.keys().map(|(g, _, m)| (g, m)).collect();
    assert!(
        quarters
            .keys()
            .all(|(g, _, m)| hour_series.contains(&(g, m)))
    );
    assert!(checked > 100, "{checked}");
}

#[tokio::test]
async fn day_buckets_follow_london_across_the_dst_change() {
    let sim = start_default().await;
    let token = token(&sim).await;
    // 25 Oct 2026: clocks go back in London, so that local day is 25 hours long.
    let interval = "2026-10-24T23:00:00.000Z/2026-10-27T00:00:00.000Z";
    let (status, _, body) = post_query(
        &sim,
        &token,
        &json!({"interval": interval, "granularity": "P1D", "timeZone": "Europe/London",
            "metrics": ["nOffered", "tHandle"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let data = body["results"][0]["data"].as_array().expect("data");
    let intervals: Vec<&str> = data.iter().filter_map(|d| d["interval"].as_str()).collect();
    assert_eq!(
        intervals,
        [
            "2026-10-24T23:00:00.000Z/2026-10-26T00:00:00.000Z",
            "2026-10-26T00:00:00.000Z/2026-10-27T00:00:00.000Z"
        ]
    );
    // The 25-hour bucket holds exactly the traffic of those 25 hours.
    let (_, _, long_day) = post_query(
        &sim,
        &token,
        &json!({"interval": "2026-10-24T23:00:00.000Z/2026-10-26T00:00:00.000Z", "metrics": ["nOffered"]}),
    )
    .await;
    assert_eq!(
        data[0]["metrics"][0]["stats"]["count"],
        long_day["results"][0]["data"][0]["metrics"][0]["stats"]["count"]
    );
    // In UTC the same 49 hours are not whole days.
    let (status, _, body) = post_query(
        &sim,
        &token,
        &json!({"interval": interval, "granularity": "P1D", "metrics": ["nOffered"]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_error_body(&body, 400).contains("P1D"));
}

#[tokio::test]
async fn no_data_means_absent_results_metrics_and_buckets() {
    let sim = start_default().await;
    let token = token(&sim).await;
    let nobody = json!({"interval": BUSY_HOUR, "metrics": ["nOffered"],
        "filter": {"type": "and", "predicates": [
            {"type": "dimension", "dimension": "queueId", "operator": "matches",
             "value": "00000000-0000-4000-8000-000000000000"}]}});
    let (status, _, body) = post_query(&sim, &token, &nobody).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("results").is_none(), "{body}");
    // A valid metric the simulator does not model: no data, not an error.
    let (status, _, body) = post_query(
        &sim,
        &token,
        &json!({"interval": BUSY_HOUR, "metrics": ["tIvr", "nOffered"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body["results"][0]["data"][0]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["metric"].as_str())
        .collect();
    assert_eq!(names, ["nOffered"]);
    // The future has not happened yet.
    let (status, _, body) = post_query(
        &sim,
        &token,
        &json!({"interval": "2030-01-01T00:00:00.000Z/2030-01-02T00:00:00.000Z", "metrics": ["nOffered"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.get("results").is_none(), "{body}");
    // An interval around now only has buckets for the past and the present.
    let now = chrono::Utc::now();
    let hour = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:00:00.000Z").to_string();
    let interval = format!(
        "{}/{}",
        hour(now - chrono::Duration::hours(2)),
        hour(now + chrono::Duration::hours(3))
    );
    let (status, _, body) = post_query(
        &sim,
        &token,
        &json!({"interval": interval, "granularity": "PT1H", "metrics": ["nOffered"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let next_hour = hour(now + chrono::Duration::hours(1));
    for bucket in body["results"][0]["data"].as_array().into_iter().flatten() {
        let start = bucket["interval"].as_str().unwrap_or_default();
        assert!(
            start < next_hour.as_str(),
            "future bucket {start} (now {now})"
        );
    }
}

#[tokio::test]
async fn abandoned_conversations_form_groups_without_a_user() {
    let sim = start_default().await;
    let token = token(&sim).await;
    let (_, _, body) = post_query(
        &sim,
        &token,
        &json!({"interval": BUSY_HOUR, "groupBy": ["queueId", "userId", "wrapUpCode"],
            "metrics": ["tAbandon", "nConnected"]}),
    )
    .await;
    let results = body["results"].as_array().expect("results");
    let (without_user, with_user): (Vec<&Value>, Vec<&Value>) = results
        .iter()
        .partition(|r| r["group"].get("userId").is_none());
    assert!(!without_user.is_empty() && !with_user.is_empty());
    for group in &without_user {
        assert!(group["group"].get("wrapUpCode").is_none(), "{group}");
        let metrics = &group["data"][0]["metrics"];
        assert_eq!(metrics.as_array().map(Vec::len), Some(1), "{group}");
        assert_eq!(metrics[0]["metric"], "tAbandon");
    }
    for group in &with_user {
        let names: Vec<&str> = group["data"][0]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|m| m["metric"].as_str())
            .collect();
        assert_eq!(names, ["nConnected"], "{group}");
    }
    let agents: BTreeSet<&str> = with_user
        .iter()
        .filter_map(|g| g["group"]["userId"].as_str())
        .collect();
    assert!((10..=40).contains(&agents.len()), "{} agents", agents.len());
}

#[tokio::test]
async fn timers_are_plausible_milliseconds() {
    let sim = start_default().await;
    let token = token(&sim).await;
    let (_, _, body) = post_query(
        &sim,
        &token,
        &json!({"interval": BUSY_HOUR, "groupBy": ["mediaType"],
            "metrics": ["tHandle", "tAnswered", "tAcw", "oServiceLevel", "nOffered", "tAbandon"]}),
    )
    .await;
    let series = index(&body);
    let stats = |media: &str, metric: &str| {
        series
            .get(&(
                json!({"mediaType": media}).to_string(),
                BUSY_HOUR.to_string(),
                metric.to_string(),
            ))
            .cloned()
            .unwrap_or_else(|| panic!("no {metric} for {media}"))
    };
    let average_minutes = |s: &Value| int(&s["sum"]) as f64 / int(&s["count"]) as f64 / 60_000.0;
    let voice_aht = average_minutes(&stats("voice", "tHandle"));
    assert!(
        (4.0..=9.0).contains(&voice_aht),
        "voice AHT {voice_aht} min"
    );
    let chat_aht = average_minutes(&stats("chat", "tHandle"));
    assert!(chat_aht > voice_aht, "chat {chat_aht} voice {voice_aht}");
    let email_aht = average_minutes(&stats("email", "tHandle"));
    assert!(email_aht > voice_aht, "email {email_aht} voice {voice_aht}");
    let asa_secs = average_minutes(&stats("voice", "tAnswered")) * 60.0;
    assert!((3.0..=60.0).contains(&asa_secs), "voice ASA {asa_secs} s");
    let acw = stats("voice", "tAcw");
    assert!(
        int(&acw["min"]) >= 15_000 && int(&acw["max"]) <= 120_000,
        "{acw}"
    );
    let sl = stats("voice", "oServiceLevel")["ratio"]
        .as_f64()
        .unwrap_or(-1.0);
    assert!((0.4..=0.95).contains(&sl), "voice service level {sl}");
    let offered = int(&stats("voice", "nOffered")["count"]) as f64;
    let abandon_rate = int(&stats("voice", "tAbandon")["count"]) as f64 / offered;
    assert!(
        (0.01..=0.2).contains(&abandon_rate),
        "abandon rate {abandon_rate}"
    );
}

#[tokio::test]
async fn invalid_queries_get_400_with_a_genesys_error_body() {
    let sim = start_default().await;
    let token = token(&sim).await;
    let base = || json!({"interval": BUSY_HOUR, "metrics": ["nOffered"]});
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut q = base();
    q["metrics"] = json!(["nOffered", "nFoo"]);
    cases.push((q, "nFoo"));
    let mut q = base();
    q["groupBy"] = json!(["queueId", "fooId"]);
    cases.push((q, "fooId"));
    let mut q = base();
    q["filter"] = json!({"type": "and", "predicates": [{"dimension": "bazId", "value": "x"}]});
    cases.push((q, "bazId"));
    let mut q = base();
    q["interval"] = json!("2026-11-24T11:00:00.000Z/2026-11-24T10:00:00.000Z");
    cases.push((q, "interval"));
    let mut q = base();
    q["interval"] = json!("last tuesday");
    cases.push((q, "interval"));
    cases.push((json!({"metrics": ["nOffered"]}), "interval"));
    cases.push((json!({"interval": BUSY_HOUR}), "metrics"));
    let mut q = base();
    q["granularity"] = json!("PT7M");
    cases.push((q, "PT7M"));
    let mut q = base();
    q["granularity"] = json!("1 hour");
    cases.push((q, "granularity"));
    let mut q = base();
    q["timeZone"] = json!("Europe/Atlantis");
    cases.push((q, "Europe/Atlantis"));
    for (query, needle) in cases {
        let (status, headers, body) = post_query(&sim, &token, &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        let message = assert_error_body(&body, 400);
        assert!(message.contains(needle), "'{message}' should name {needle}");
        assert_eq!(
            header(&headers, "inin-correlation-id"),
            body["contextId"].as_str()
        );
    }
    // Malformed JSON.
    let response = client()
        .post(format!("{}{AGGREGATES}", sim.base_url()))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"interval\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert!(assert_error_body(&body, 400).contains("JSON"));
    // Unknown fields are ignored.
    let mut q = base();
    q["someFutureField"] = json!({"x": [1, 2]});
    assert_eq!(post_query(&sim, &token, &q).await.0, StatusCode::OK);
}

/// The simulator accepts the whole catalogue, as Genesys does: every metric and every
/// dimension (in `groupBy` and in a filter) is a 200, with data or without.
#[tokio::test]
async fn every_catalogue_metric_and_dimension_is_accepted() {
    let sim = start(SimulatorConfig {
        requests_per_minute: 10_000,
        ..SimulatorConfig::default()
    })
    .await;
    let token = token(&sim).await;
    for metric in catalog::CONVERSATION_METRICS {
        let query = json!({"interval": BUSY_HOUR, "metrics": [metric]});
        let (status, _, body) = post_query(&sim, &token, &query).await;
        assert_eq!(status, StatusCode::OK, "{metric}: {body}");
        for result in body["results"].as_array().into_iter().flatten() {
            for data in result["data"].as_array().into_iter().flatten() {
                assert_eq!(data["metrics"][0]["metric"], *metric, "{body}");
            }
        }
    }
    for dimension in catalog::CONVERSATION_DIMENSIONS {
        let query = json!({"interval": BUSY_HOUR, "metrics": ["nOffered"], "groupBy": [dimension],
            "filter": {"type": "or", "predicates": [
                {"type": "dimension", "dimension": dimension, "operator": "exists"},
                {"type": "dimension", "dimension": dimension, "operator": "notExists"}]}});
        let (status, _, body) = post_query(&sim, &token, &query).await;
        assert_eq!(status, StatusCode::OK, "{dimension}: {body}");
        // exists-or-notExists keeps everything, grouped or not.
        let offered: i64 = index(&body)
            .values()
            .map(|stats| int(&stats["count"]))
            .sum();
        assert!(offered > 0, "{dimension}: no traffic in a busy hour");
    }
}

/// Each refusal the API makes is a 400 (413 for the body size) with a Genesys error body
/// whose `details[0].fieldName` names the field.
#[tokio::test]
async fn each_refusal_is_a_genesys_error_naming_the_field() {
    let sim = start_default().await;
    let sim_token = token(&sim).await;
    let base = || json!({"interval": BUSY_HOUR, "metrics": ["nOffered"]});
    let with_filter = |filter: Value| {
        let mut q = base();
        q["filter"] = filter;
        q
    };
    let queue_predicates = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"type": "dimension", "dimension": "queueId", "value": format!("q{i}")}))
            .collect()
    };
    let predicate = json!({"type": "dimension", "dimension": "mediaType", "value": "voice"});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"interval": BUSY_HOUR, "metrics": ["nOfered"]}),
            "metrics[0]",
        ),
        (
            json!({"interval": BUSY_HOUR, "metrics": ["nOffered", "oWaiting"]}),
            "metrics[1]",
        ),
        (
            json!({"interval": BUSY_HOUR, "metrics": ["nOffered"], "groupBy": ["queueID"]}),
            "groupBy[0]",
        ),
        (
            with_filter(json!({"type": "and", "predicates": [
                {"type": "dimension", "dimension": "queueID", "value": "x"}]})),
            "filter.predicates[0].dimension",
        ),
        (
            with_filter(json!({"type": "and", "predicates": [
                {"type": "metric", "metric": "tHandel", "range": {"gt": 0}}]})),
            "filter.predicates[0].metric",
        ),
        (
            with_filter(json!({"type": "and", "predicates": [
                {"type": "metric", "metric": "tHandle", "range": {"gt": "soon"}}]})),
            "filter.predicates[0].range.gt",
        ),
        (
            with_filter(json!({"type": "and", "predicates": [
                {"type": "property", "property": "vip", "propertyType": "boolean", "value": "1"}]})),
            "filter.predicates[0].propertyType",
        ),
        (
            with_filter(json!({"type": "and", "clauses": [{"type": "or",
                "predicates": [predicate],
                "clauses": [{"type": "and", "predicates": [predicate]}]}]})),
            "filter.clauses[0].clauses",
        ),
        (
            with_filter(json!({"type": "or", "predicates": queue_predicates(101)})),
            "filter",
        ),
        (
            with_filter(json!({"type": "xor", "predicates": [predicate]})),
            "filter.type",
        ),
        (
            json!({"interval": "2026-11-24T11:00:00.000Z/2026-11-24T10:00:00.000Z", "metrics": ["nOffered"]}),
            "interval",
        ),
        (
            json!({"interval": BUSY_HOUR, "granularity": "PT7M", "metrics": ["nOffered"]}),
            "granularity",
        ),
        (
            json!({"interval": BUSY_HOUR, "timeZone": "Europe/Atlantis", "metrics": ["nOffered"]}),
            "timeZone",
        ),
    ];
    for (query, field) in cases {
        let (status, _, body) = post_query(&sim, &sim_token, &query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_error_body(&body, 400);
        assert_eq!(body["code"], "bad.request", "{body}");
        assert_eq!(body["details"][0]["fieldName"], field, "{body}");
        assert!(body["details"][0]["errorCode"].is_string(), "{body}");
    }
    // 100 predicates are allowed; a bigger cap, or none, lets more through.
    let hundred = with_filter(json!({"type": "or", "predicates": queue_predicates(100)}));
    assert_eq!(
        post_query(&sim, &sim_token, &hundred).await.0,
        StatusCode::OK
    );
    let uncapped = start(SimulatorConfig {
        max_predicates: None,
        ..SimulatorConfig::default()
    })
    .await;
    let thousand = with_filter(json!({"type": "or", "predicates": queue_predicates(1000)}));
    let uncapped_token = token(&uncapped).await;
    assert_eq!(
        post_query(&uncapped, &uncapped_token, &thousand).await.0,
        StatusCode::OK
    );
    // The body limit is 512,000 bytes: one byte more is a 413 saying the limit.
    for (size, expected) in [
        (512_000, StatusCode::OK),
        (512_001, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        let mut query = base().to_string();
        let padding = size - query.len();
        query.insert_str(
            query.len() - 1,
            &format!(",\"pad\":\"{}\"", "x".repeat(padding - 9)),
        );
        assert_eq!(query.len(), size);
        let response = client()
            .post(format!("{}{AGGREGATES}", uncapped.base_url()))
            .bearer_auth(&uncapped_token)
            .header("content-type", "application/json")
            .body(query)
            .send()
            .await
            .expect("request");
        let (status, _, body) = split(response).await;
        assert_eq!(status, expected, "{size} bytes");
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            assert_error_body(&body, 413);
            assert_eq!(body["limit"]["key"], "request.bytes.max", "{body}");
            assert_eq!(body["limit"]["value"], 512_000, "{body}");
        }
    }
}

#[tokio::test]
async fn queues_page_like_genesys() {
    let sim = start(SimulatorConfig {
        queue_count: 12,
        ..SimulatorConfig::default()
    })
    .await;
    let token = token(&sim).await;
    let mut seen = Vec::new();
    let mut path = format!("{QUEUES}?pageSize=5&pageNumber=1");
    let mut pages = 0;
    loop {
        let (status, _, body) = get(&sim, &path, Some(&token)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        pages += 1;
        assert_eq!(body["pageSize"], 5);
        assert_eq!(body["pageNumber"], pages);
        assert_eq!(body["total"], 12);
        assert_eq!(body["pageCount"], 3);
        assert_eq!(
            body["firstUri"],
            format!("{QUEUES}?pageSize=5&pageNumber=1")
        );
        assert_eq!(body["lastUri"], format!("{QUEUES}?pageSize=5&pageNumber=3"));
        assert_eq!(body.get("previousUri").is_some(), pages > 1);
        for entity in body["entities"].as_array().expect("entities") {
            seen.push((
                entity["id"].as_str().unwrap_or_default().to_string(),
                entity["name"].as_str().unwrap_or_default().to_string(),
            ));
        }
        match body.get("nextUri").and_then(Value::as_str) {
            Some(next) => path = next.to_string(),
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(pages, 3);
    let expected: Vec<(String, String)> =
        sim.queues().into_iter().map(|q| (q.id, q.name)).collect();
    assert_eq!(seen, expected);
    assert_eq!(expected[0].1, "Billing");
    assert_eq!(expected[1].1, "Technical Support");
    let ids: BTreeSet<&str> = expected.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 12);
    assert!(
        ids.iter()
            .all(|id| id.len() == 36 && id.matches('-').count() == 4)
    );
    // Default page size and the maximum.
    let (_, _, body) = get(&sim, QUEUES, Some(&token)).await;
    assert_eq!(body["pageSize"], 25);
    assert_eq!(body["entities"].as_array().map(Vec::len), Some(12));
    assert!(body.get("nextUri").is_none());
    let (status, _, body) = get(&sim, &format!("{QUEUES}?pageSize=501"), Some(&token)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(assert_error_body(&body, 400).contains("pageSize"));
    // The queue ids are the queueId values of the aggregates.
    let (_, _, body) = post_query(
        &sim,
        &token,
        &json!({"interval": BUSY_HOUR, "groupBy": ["queueId"], "metrics": ["nOffered"]}),
    )
    .await;
    let reported: BTreeSet<&str> = body["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["group"]["queueId"].as_str())
        .collect();
    assert_eq!(reported, ids);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after() {
    let sim = start(SimulatorConfig {
        requests_per_minute: 5,
        ..SimulatorConfig::default()
    })
    .await;
    let token = token(&sim).await;
    for n in 1..=5u64 {
        let (status, headers, _) = get(&sim, QUEUES, Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header_u64(&headers, "inin-ratelimit-count"), Some(n));
        assert_eq!(header_u64(&headers, "inin-ratelimit-allowed"), Some(5));
        let reset = header_u64(&headers, "inin-ratelimit-reset").unwrap_or(0);
        assert!((1..=60).contains(&reset), "reset {reset}");
        assert!(header(&headers, "inin-correlation-id").is_some_and(|c| c.len() == 36));
    }
    let (status, headers, body) = get(&sim, QUEUES, Some(&token)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after = header_u64(&headers, "retry-after").unwrap_or(0);
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert_eq!(body["code"], "too.many.requests.retry.after");
    let message = assert_error_body(&body, 429);
    assert_eq!(
        message,
        format!("Rate limit exceeded the maximum. Retry the request in [{retry_after}] seconds")
    );
    assert_eq!(header_u64(&headers, "inin-ratelimit-count"), Some(5));
    // The limit is per token: a fresh token is not limited.
    let fresh = self::token(&sim).await;
    assert_eq!(get(&sim, QUEUES, Some(&fresh)).await.0, StatusCode::OK);
}

#[tokio::test]
async fn injected_faults_answer_then_clear() {
    let sim = start_default().await;
    let token = token(&sim).await;
    sim.inject_fault(Fault {
        path_prefix: "/api/v2/analytics".into(),
        status: 503,
        retry_after: Some(3),
        count: 2,
    });
    let query = json!({"interval": BUSY_HOUR, "metrics": ["nOffered"]});
    for _ in 0..2 {
        let (status, headers, body) = post_query(&sim, &token, &query).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header_u64(&headers, "retry-after"), Some(3));
        assert_error_body(&body, 503);
    }
    // Other paths are unaffected, and the fault is used up.
    assert_eq!(get(&sim, QUEUES, Some(&token)).await.0, StatusCode::OK);
    let (status, _, body) = post_query(&sim, &token, &query).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["results"].is_array());
    // The login endpoint can fail too.
    sim.inject_fault(Fault {
        path_prefix: "/oauth/token".into(),
        status: 500,
        retry_after: None,
        count: 1,
    });
    let response = login_with(&sim, "demo-client", "demo-secret").await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(response.headers().get("retry-after").is_none());
    let recorded: Vec<(String, String, u16)> = sim
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.status))
        .collect();
    let expected = [
        ("POST", "/oauth/token", 200),
        ("POST", AGGREGATES, 503),
        ("POST", AGGREGATES, 503),
        ("GET", QUEUES, 200),
        ("POST", AGGREGATES, 200),
        ("POST", "/oauth/token", 500),
    ]
    .map(|(m, p, s)| (m.to_string(), p.to_string(), s));
    assert_eq!(recorded, expected);
    let times: Vec<_> = sim.requests().into_iter().map(|r| r.at).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[tokio::test]
async fn unknown_paths_and_wrong_methods() {
    let sim = start_default().await;
    let token = token(&sim).await;
    let (status, _, body) = get(&sim, "/api/v2/nothing/here?x=1", Some(&token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error_body(&body, 404);
    let (status, headers, body) = get(&sim, AGGREGATES, Some(&token)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), Some("POST"));
    assert_error_body(&body, 405);
    let (status, _, _) = get(&sim, "/oauth/token", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    // The log holds paths without their query strings.
    let paths: Vec<String> = sim.requests().into_iter().map(|r| r.path).collect();
    assert!(
        paths.contains(&"/api/v2/nothing/here".to_string()),
        "{paths:?}"
    );
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let sim = start_default().await;
    let addr = sim.local_addr();
    assert_eq!(sim.base_url(), format!("http://{addr}"));
    // A client that keeps its connection alive must not hold up the shutdown.
    let keep_alive = client();
    let response = keep_alive
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    assert_eq!(response.status(), StatusCode::OK);
    let _ = response.bytes().await;
    let started = std::time::Instant::now();
    sim.shutdown().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    drop(keep_alive);

    let dropped = start_default().await;
    let addr = dropped.local_addr();
    drop(dropped);
    let mut refused = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "server still accepting after drop");
}

const OBSERVATIONS: &str = "/api/v2/analytics/queues/observations/query";

async fn post_observations(
    sim: &Simulator,
    token: &str,
    body: &Value,
) -> (StatusCode, HeaderMap, Value) {
    let response = client()
        .post(format!("{}{OBSERVATIONS}", sim.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("observations request");
    split(response).await
}

fn queue_filter(ids: &[String]) -> Value {
    let predicates: Vec<Value> = ids
        .iter()
        .map(|id| json!({"type": "dimension", "dimension": "queueId", "operator": "matches", "value": id}))
        .collect();
    json!({"type": "or", "predicates": predicates})
}

#[tokio::test]
async fn queue_observations_have_the_genesys_shape() {
    let sim = start(SimulatorConfig {
        busy_all_day: true,
        ..SimulatorConfig::default()
    })
    .await;
    let token = token(&sim).await;
    let ids: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    let request = json!({
        "filter": queue_filter(&ids),
        "metrics": ["oWaiting", "oInteracting", "oAlerting", "oOnQueueUsers", "oOffQueueUsers",
                    "oMemberUsers", "oActiveUsers", "oUserRoutingStatuses", "oUserPresences"],
        "detailMetrics": ["oWaiting"],
    });
    let (status, headers, body) = post_observations(&sim, &token, &request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(header_u64(&headers, "inin-ratelimit-count").is_some());
    let mappings = body["systemToOrganizationMappings"]
        .as_object()
        .expect("mappings");
    for presence in ["AVAILABLE", "OFFLINE", "ON_QUEUE", "BREAK"] {
        assert!(mappings[presence][0].is_string(), "{presence}");
    }
    let results = body["results"].as_array().expect("results");
    let member_groups: BTreeSet<&str> = results
        .iter()
        .filter(|r| r["group"].get("mediaType").is_none())
        .map(|r| r["group"]["queueId"].as_str().expect("queueId"))
        .collect();
    assert_eq!(
        member_groups.len(),
        ids.len(),
        "every queue has a {{queueId}} group"
    );
    let interacting: i64 = results
        .iter()
        .flat_map(|r| r["data"].as_array().into_iter().flatten())
        .filter(|d| d["metric"] == "oInteracting")
        .map(|d| int(&d["stats"]["count"]))
        .sum();
    assert!(interacting > 0, "a busy org has conversations in progress");
}

#[tokio::test]
async fn queue_observations_refuse_what_genesys_refuses() {
    let sim = start(SimulatorConfig {
        queue_count: 101,
        ..SimulatorConfig::default()
    })
    .await;
    let token = token(&sim).await;
    let ids: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    let cases = [
        (
            json!({"filter": queue_filter(&ids), "metrics": ["oWaiting"]}),
            "101 queueId predicates",
        ),
        (
            json!({"filter": queue_filter(&ids[..2]), "metrics": ["nOffered"]}),
            "unknown metric 'nOffered'",
        ),
        (
            json!({"filter": {"type": "and", "predicates": [
                {"type": "dimension", "dimension": "queueId", "value": ids[0]},
                {"type": "dimension", "dimension": "userId", "value": "x"}]},
                "metrics": ["oWaiting"]}),
            "'userId'",
        ),
        (json!({"metrics": ["oWaiting"]}), "filter is required"),
    ];
    for (request, expected) in cases {
        let (status, _, body) = post_observations(&sim, &token, &request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{request}");
        let message = assert_error_body(&body, 400);
        assert!(
            message.contains(expected),
            "{message} should say {expected}"
        );
    }
    // And an aggregates metric name the observation endpoint refuses is one the
    // aggregates endpoint takes.
    let (status, _, _) = post_query(
        &sim,
        &token,
        &json!({"interval": BUSY_HOUR, "metrics": ["nOffered"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = post_query(
        &sim,
        &token,
        &json!({"interval": BUSY_HOUR, "metrics": ["oWaiting"]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn injected_faults_cover_queue_observations() {
    let sim = start_default().await;
    let token = token(&sim).await;
    sim.inject_fault(Fault {
        path_prefix: OBSERVATIONS.into(),
        status: 503,
        retry_after: None,
        count: 1,
    });
    let ids: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    let request = json!({"filter": queue_filter(&ids), "metrics": ["oWaiting"]});
    let (status, _, body) = post_observations(&sim, &token, &request).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_error_body(&body, 503);
    let (status, _, _) = post_observations(&sim, &token, &request).await;
    assert_eq!(status, StatusCode::OK);
}
