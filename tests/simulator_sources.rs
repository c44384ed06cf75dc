//! The simulator's aggregates sources besides conversations (users, flows, bots, data
//! actions, surveys, evaluations, transcripts, flow executions, rate limits), their
//! validation, the values that must agree with the conversations, and the listings of
//! flows, flow outcomes and presence definitions: real HTTP over loopback.

use std::collections::{BTreeMap, BTreeSet};

use genesys_cloud_exporter::genesys::sources::{self, SOURCES};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A busy weekday hour, safely in the past.
const BUSY_HOUR: &str = "2026-11-24T10:00:00.000Z/2026-11-24T11:00:00.000Z";
const HALF_HOUR_MS: i64 = 30 * 60_000;

/// The demo's query of each source (issue 23's plan): source, groupBy, metrics.
const DEMO: &[(&str, &[&str], &[&str])] = &[
    (
        "users",
        &["userId"],
        &[
            "tAgentRoutingStatus",
            "tSystemPresence",
            "tOrganizationPresence",
        ],
    ),
    (
        "flows",
        &["flowId", "flowOutcomeId"],
        &[
            "nFlow",
            "tFlow",
            "tFlowDisconnect",
            "tFlowExit",
            "nFlowOutcome",
            "nFlowOutcomeFailed",
            "tFlowOutcome",
        ],
    ),
    (
        "bots",
        &["botName"],
        &[
            "nBotSessions",
            "nBotSessionTurns",
            "tBotSession",
            "tBotRecognitionFailure",
            "tBotExit",
            "tBotDisconnect",
        ],
    ),
    (
        "actions",
        &["actionName", "errorType"],
        &["tTotalExecution"],
    ),
    (
        "surveys",
        &["queueId"],
        &[
            "nSurveysSent",
            "nSurveyResponses",
            "nSurveyNpsResponses",
            "nSurveyNpsPromoters",
            "nSurveyNpsDetractors",
            "oSurveyTotalScore",
        ],
    ),
    (
        "evaluations",
        &["queueId"],
        &["nEvaluations", "oTotalScore", "oTotalCriticalScore"],
    ),
    (
        "transcripts",
        &["queueId"],
        &[
            "nSpeechTextAnalyzedConversations",
            "oSentimentScore",
            "tAgentSpeech",
            "tCustomerSpeech",
            "tSilence",
            "tOverTalkSpeech",
        ],
    ),
    ("flowexecutions", &["flowId"], &["nFlowExecutions"]),
    (
        "ratelimits",
        &["limitName", "namespace"],
        &["oRateLimitRecorded"],
    ),
];

async fn start(config: SimulatorConfig) -> Simulator {
    let listen = "127.0.0.1:0".parse().expect("loopback address");
    Simulator::start(config, listen)
        .await
        .expect("simulator starts")
}

/// A simulator and a token for it.
async fn started(config: SimulatorConfig) -> (Simulator, String) {
    let sim = start(config).await;
    let response = reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.base_url()))
        .basic_auth("demo-client", Some("demo-secret"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token request");
    let body: Value = response.json().await.expect("token JSON");
    let token = body["access_token"].as_str().expect("token").to_string();
    (sim, token)
}

async fn post(sim: &Simulator, token: &str, source: &str, body: &Value) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v2/analytics/{source}/aggregates/query",
            sim.base_url()
        ))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("aggregates request");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn get(sim: &Simulator, token: &str, path: &str) -> (StatusCode, Value) {
    let response = reqwest::Client::new()
        .get(format!("{}{path}", sim.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET request");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Every `(group, interval, metric, qualifier, stats)` of an answer.
fn rows(body: &Value) -> Vec<(Value, String, String, Option<String>, Value)> {
    let mut out = Vec::new();
    for result in body["results"].as_array().into_iter().flatten() {
        for data in result["data"].as_array().into_iter().flatten() {
            let interval = data["interval"].as_str().unwrap_or_default().to_string();
            for metric in data["metrics"].as_array().into_iter().flatten() {
                out.push((
                    result["group"].clone(),
                    interval.clone(),
                    metric["metric"].as_str().unwrap_or_default().to_string(),
                    metric["qualifier"].as_str().map(str::to_string),
                    metric["stats"].clone(),
                ));
            }
        }
    }
    out
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"))
}

fn stat_keys(stats: &Value) -> BTreeSet<String> {
    stats
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn every_source_answers_the_demo_query_with_data() {
    let (sim, token) = started(SimulatorConfig::default()).await;
    assert_eq!(DEMO.len(), SOURCES.len() - 1, "a demo query per source");
    for (source, group_by, metrics) in DEMO {
        let query = json!({"interval": BUSY_HOUR, "granularity": "PT30M",
                           "groupBy": group_by, "metrics": metrics});
        let (status, body) = post(&sim, &token, source, &query).await;
        assert_eq!(status, StatusCode::OK, "{source}: {body}");
        let rows = rows(&body);
        let seen: BTreeSet<&str> = rows.iter().map(|r| r.2.as_str()).collect();
        for metric in *metrics {
            assert!(seen.contains(metric), "{source}: no {metric} in {body}");
        }
        for (group, interval, metric, _, stats) in &rows {
            assert!(
                group
                    .as_object()
                    .is_some_and(|g| g.keys().all(|k| group_by.contains(&k.as_str()))),
                "{source}: {group}"
            );
            assert!(interval.starts_with("2026-11-24T1"), "{interval}");
            let keys = stat_keys(stats);
            let expected: &[&str] = match (metric.as_bytes()[0], *source) {
                (b'n', _) => &["count"],
                (b't', "users") => &["sum"],
                (b't', _) => &["count", "max", "min", "sum"],
                _ => &["count", "max", "min", "sum"],
            };
            assert_eq!(
                keys,
                expected.iter().map(|k| k.to_string()).collect(),
                "{source} {metric}: {stats}"
            );
            let values: Vec<f64> = stats
                .as_object()
                .into_iter()
                .flatten()
                .filter_map(|(_, v)| v.as_f64())
                .collect();
            if metric.starts_with('n') || metric.starts_with('t') {
                assert!(
                    values.iter().all(|v| *v >= 0.0),
                    "{source} {metric}: {stats}"
                );
            }
            if metric.starts_with('n') || (metric.starts_with('t') && *source != "users") {
                assert!(int(&stats["count"]) > 0, "{source} {metric}: {stats}");
            }
        }
    }
}

/// A week of half hours, nights and a weekend among them, ending at the half hour whose
/// rate limits once came back empty (2026-12-07 10:30 UTC, default seed).
const A_WEEK: &str = "2026-11-30T11:00:00.000Z/2026-12-07T11:00:00.000Z";

/// Every half hour of a week, nights and weekends included, brings data from every source
/// of the demo. The exporter zero-fills a metric missing from a group that has data, but
/// a source that answers nothing at all, at start-up, exports no series: the dashboards
/// then hide the row repeated over that source's queries (the rate-limit events once
/// vanished so, failing a dashboard test in CI).
#[tokio::test]
async fn every_half_hour_of_a_week_has_data_from_every_demo_source() {
    let (sim, token) = started(SimulatorConfig::default()).await;
    let half_hours = 7 * 48;
    let mut short = Vec::new();
    for (source, group_by, metrics) in DEMO {
        let query = json!({"interval": A_WEEK, "granularity": "PT30M",
                           "groupBy": group_by, "metrics": metrics});
        let (status, body) = post(&sim, &token, source, &query).await;
        assert_eq!(status, StatusCode::OK, "{source}: {body}");
        let with_data: BTreeSet<String> = rows(&body)
            .into_iter()
            .map(|(_, interval, ..)| interval)
            .collect();
        if with_data.len() != half_hours {
            short.push(format!("{source}: {} of {half_hours}", with_data.len()));
        }
    }
    assert!(short.is_empty(), "half hours with data: {short:#?}");
}

#[tokio::test]
async fn data_actions_fail_in_a_few_groups_and_quality_stays_plausible() {
    let (sim, token) = started(SimulatorConfig::default()).await;
    let query = json!({"interval": BUSY_HOUR, "granularity": "PT30M",
                       "groupBy": ["actionName", "errorType"], "metrics": ["tTotalExecution"]});
    let (_, body) = post(&sim, &token, "actions", &query).await;
    let executions = rows(&body);
    let failed: i64 = executions
        .iter()
        .filter(|r| r.0.get("errorType").is_some())
        .map(|r| int(&r.4["count"]))
        .sum();
    let ok: i64 = executions
        .iter()
        .filter(|r| r.0.get("errorType").is_none())
        .map(|r| int(&r.4["count"]))
        .sum();
    assert!(failed > 0 && failed * 5 < ok, "failed {failed}, ok {ok}");

    let surveys = DEMO[4];
    let query = json!({"interval": BUSY_HOUR, "granularity": "PT30M",
                       "groupBy": surveys.1, "metrics": surveys.2});
    let (_, body) = post(&sim, &token, "surveys", &query).await;
    let mut cells: BTreeMap<(String, String), BTreeMap<String, Value>> = BTreeMap::new();
    for (group, interval, metric, _, stats) in rows(&body) {
        cells
            .entry((group.to_string(), interval))
            .or_default()
            .insert(metric, stats);
    }
    assert!(!cells.is_empty());
    for (cell, m) in &cells {
        let n = |name: &str| m.get(name).map_or(0, |s| int(&s["count"]));
        assert!(
            n("nSurveyNpsPromoters") + n("nSurveyNpsDetractors") <= n("nSurveyNpsResponses")
                && n("nSurveyNpsResponses") <= n("nSurveyResponses")
                && n("nSurveyResponses") <= n("nSurveysSent"),
            "{cell:?}: {m:?}"
        );
        if let Some(score) = m.get("oSurveyTotalScore") {
            let (min, max) = (score["min"].as_f64(), score["max"].as_f64());
            assert!(
                min.zip(max)
                    .is_some_and(|(a, b)| (0.0..=100.0).contains(&a) && a <= b && b <= 100.0),
                "{score}"
            );
        }
    }
}

#[tokio::test]
async fn each_source_refuses_what_it_does_not_list_naming_the_field() {
    let (sim, token) = started(SimulatorConfig::default()).await;
    for source in &SOURCES[1..] {
        let own = source.metrics[0];
        let dimension = source.dimensions[0];
        // A conversation metric and dimension the source does not list.
        let foreign_metric = ["nOffered", "tHandle"]
            .into_iter()
            .find(|m| !source.metrics.contains(m))
            .expect("a foreign metric");
        let foreign_dim = ["botId", "wrapUpCode"]
            .into_iter()
            .find(|d| !source.dimensions.contains(d))
            .expect("a foreign dimension");
        let cases = [
            (
                json!({"interval": BUSY_HOUR, "metrics": [own, foreign_metric]}),
                "metrics[1]",
            ),
            (
                json!({"interval": BUSY_HOUR, "metrics": [own], "groupBy": [dimension, foreign_dim]}),
                "groupBy[1]",
            ),
            (
                json!({"interval": BUSY_HOUR, "metrics": [own], "filter": {"type": "and",
                       "predicates": [{"dimension": foreign_dim, "value": "x"}]}}),
                "filter.predicates[0].dimension",
            ),
        ];
        for (query, field) in cases {
            let (status, body) = post(&sim, &token, source.segment, &query).await;
            assert_eq!(
                status,
                StatusCode::BAD_REQUEST,
                "{}: {body}",
                source.segment
            );
            assert_eq!(
                body["details"][0]["fieldName"], field,
                "{}: {body}",
                source.segment
            );
        }
        // Every metric and dimension the source lists is accepted (in filters of at most
        // 100 predicates, the cap of every query).
        for dimensions in source.dimensions.chunks(50) {
            let all = json!({"interval": BUSY_HOUR, "metrics": source.metrics,
                             "filter": {"type": "or", "predicates": dimensions.iter()
                                 .map(|d| json!({"dimension": d, "operator": "exists"}))
                                 .collect::<Vec<_>>()}});
            let (status, body) = post(&sim, &token, source.segment, &all).await;
            assert_eq!(status, StatusCode::OK, "{}: {body}", source.segment);
        }
    }
    // Users: at most 100 userId predicates a request.
    let users = sources::source("users").expect("users source");
    let cap = users.predicate_cap("userId").expect("a userId cap");
    let filter = |n: usize| {
        json!({"type": "or", "predicates": (0..n)
            .map(|i| json!({"dimension": "userId", "value": format!("00000000-0000-4000-8000-{i:012}")}))
            .collect::<Vec<_>>()})
    };
    let query =
        |n| json!({"interval": BUSY_HOUR, "metrics": ["tAgentRoutingStatus"], "filter": filter(n)});
    let (status, body) = post(&sim, &token, "users", &query(cap + 1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["details"][0]["fieldName"], "filter", "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("userId"),
        "{body}"
    );
    let (status, body) = post(&sim, &token, "users", &query(cap)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A segment Genesys does not have is a path it does not have.
    let (status, body) = post(&sim, &token, "nosuchsource", &query(1)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}

/// Users' status times, by (user, interval, metric): qualifier -> ms.
type StatusTimes = BTreeMap<(String, String, String), BTreeMap<String, i64>>;

async fn status_times(sim: &Simulator, token: &str) -> (StatusTimes, Value) {
    let query = json!({"interval": BUSY_HOUR, "granularity": "PT30M", "groupBy": ["userId"],
                       "metrics": DEMO[0].2});
    let (status, body) = post(sim, token, "users", &query).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut times = StatusTimes::new();
    for (group, interval, metric, qualifier, stats) in rows(&body) {
        let user = group["userId"].as_str().expect("userId").to_string();
        let qualifier = qualifier.expect("a qualifier");
        times
            .entry((user, interval, metric))
            .or_default()
            .insert(qualifier, int(&stats["sum"]));
    }
    (times, body)
}

#[tokio::test]
async fn a_users_status_times_sum_to_the_bucket_length() {
    let (sim, token) = started(SimulatorConfig::default()).await;
    let (times, body) = status_times(&sim, &token).await;
    let users: BTreeSet<&str> = times.keys().map(|(u, _, _)| u.as_str()).collect();
    assert_eq!(
        users.len(),
        SimulatorConfig::default().user_count,
        "every user"
    );
    assert_eq!(
        times.len(),
        users.len() * 2 * 3,
        "two buckets, three metrics"
    );
    for (key, by_qualifier) in &times {
        let total: i64 = by_qualifier.values().sum();
        assert_eq!(total, HALF_HOUR_MS, "{key:?}: {by_qualifier:?}");
    }
    let users_source = sources::source("users").expect("users");
    let mappings = body["systemToOrganizationMappings"]
        .as_object()
        .expect("systemToOrganizationMappings");
    let presence_ids: BTreeSet<&str> = mappings
        .values()
        .flat_map(|ids| ids.as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    for ((_, _, metric), by_qualifier) in &times {
        let allowed: BTreeSet<&str> = match users_source.qualifier(metric) {
            Some(q) if !q.values.is_empty() => q.values.iter().copied().collect(),
            _ => presence_ids.clone(),
        };
        assert!(
            by_qualifier.keys().all(|q| allowed.contains(q.as_str())),
            "{metric}: {by_qualifier:?}"
        );
    }
}

#[tokio::test]
async fn only_users_who_handled_conversations_are_interacting() {
    // Two queues are staffed by the first agents of the pool only: the rest handle nothing.
    let (sim, token) = started(SimulatorConfig {
        queue_count: 2,
        ..SimulatorConfig::default()
    })
    .await;
    let (times, _) = status_times(&sim, &token).await;
    let interacting = |user: &str, interval: &str| {
        times
            .get(&(user.into(), interval.into(), "tAgentRoutingStatus".into()))
            .and_then(|q| q.get("INTERACTING"))
            .copied()
            .unwrap_or(0)
    };
    // Who handled what: conversations ended in each bucket, and everyone who handled
    // anything during the morning.
    let handled = json!({"interval": BUSY_HOUR, "granularity": "PT30M", "groupBy": ["userId"],
                         "metrics": ["tHandle"]});
    let (_, body) = post(&sim, &token, "conversations", &handled).await;
    let ended = rows(&body);
    assert!(!ended.is_empty());
    for (group, interval, _, _, _) in &ended {
        let user = group["userId"].as_str().expect("userId");
        assert!(
            interacting(user, interval) > 0,
            "{user} handled in {interval}"
        );
    }
    let morning = json!({"interval": "2026-11-24T06:00:00.000Z/2026-11-24T14:00:00.000Z",
                         "groupBy": ["userId"], "metrics": ["tHandle", "nConnected"]});
    let (_, body) = post(&sim, &token, "conversations", &morning).await;
    let busy: BTreeSet<String> = rows(&body)
        .into_iter()
        .filter_map(|r| r.0["userId"].as_str().map(str::to_string))
        .collect();
    let idle_users: Vec<&(String, String, String)> = times
        .keys()
        .filter(|(user, _, metric)| metric == "tAgentRoutingStatus" && !busy.contains(user))
        .collect();
    assert!(!idle_users.is_empty(), "some users handled nothing");
    for (user, interval, _) in idle_users {
        assert_eq!(interacting(user, interval), 0, "{user} in {interval}");
    }
}

/// Sums a metric's `count` per interval over every group that passes `keep`.
fn counts_per_interval(body: &Value, metric: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for (_, interval, name, _, stats) in rows(body) {
        if name == metric {
            *out.entry(interval).or_insert(0) += int(&stats["count"]);
        }
    }
    out
}

#[tokio::test]
async fn flow_exits_are_the_inbound_calls_queues_were_offered() {
    let (sim, token) = started(SimulatorConfig::default()).await;
    let flows = json!({"interval": BUSY_HOUR, "granularity": "PT15M",
                       "groupBy": ["flowId", "flowOutcomeId"], "metrics": DEMO[1].2});
    let (status, flow_body) = post(&sim, &token, "flows", &flows).await;
    assert_eq!(status, StatusCode::OK, "{flow_body}");
    let offered = json!({"interval": BUSY_HOUR, "granularity": "PT15M", "metrics": ["nOffered"],
        "filter": {"type": "and", "predicates": [
            {"dimension": "mediaType", "value": "voice"},
            {"dimension": "direction", "value": "inbound"}]}});
    let (_, offered_body) = post(&sim, &token, "conversations", &offered).await;
    let exits = counts_per_interval(&flow_body, "tFlowExit");
    assert_eq!(exits.len(), 4, "{exits:?}");
    assert_eq!(exits, counts_per_interval(&offered_body, "nOffered"));
    // The rest end in the flow; outcomes are grouped by outcome, the rest are not.
    let disconnects = counts_per_interval(&flow_body, "tFlowDisconnect");
    let ended = counts_per_interval(&flow_body, "tFlow");
    for (interval, n) in &ended {
        assert_eq!(
            *n,
            exits.get(interval).copied().unwrap_or(0)
                + disconnects.get(interval).copied().unwrap_or(0),
            "{interval}"
        );
    }
    assert!(disconnects.values().sum::<i64>() > 0);
    for (group, _, metric, _, _) in rows(&flow_body) {
        assert!(group.get("flowId").is_some(), "{group}");
        let outcome = metric.contains("Outcome");
        assert_eq!(
            group.get("flowOutcomeId").is_some(),
            outcome,
            "{metric}: {group}"
        );
    }
    // Flow executions are the flows' entries, flow by flow.
    let entries = json!({"interval": BUSY_HOUR, "granularity": "PT15M", "groupBy": ["flowId"],
                         "metrics": ["nFlow"]});
    let (_, entry_body) = post(&sim, &token, "flows", &entries).await;
    let executions = json!({"interval": BUSY_HOUR, "granularity": "PT15M", "groupBy": ["flowId"],
                            "metrics": ["nFlowExecutions"]});
    let (_, execution_body) = post(&sim, &token, "flowexecutions", &executions).await;
    let by_flow = |body: &Value| -> BTreeMap<(String, String), i64> {
        rows(body)
            .into_iter()
            .map(|(g, i, _, _, s)| ((g.to_string(), i), int(&s["count"])))
            .collect()
    };
    let flow_entries = by_flow(&entry_body);
    assert!(flow_entries.len() > 4);
    assert_eq!(flow_entries, by_flow(&execution_body));
}

/// Every entity of a numbered listing, following `nextUri`.
async fn every_page(sim: &Simulator, token: &str, path: &str) -> (Vec<Value>, usize) {
    let mut next = format!("{path}?pageSize=2&pageNumber=1");
    let (mut entities, mut pages) = (Vec::new(), 0);
    loop {
        let (status, body) = get(sim, token, &next).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        pages += 1;
        assert_eq!(body["pageSize"], 2, "{body}");
        entities.extend(body["entities"].as_array().cloned().unwrap_or_default());
        match body["nextUri"].as_str() {
            Some(uri) => next = uri.to_string(),
            None => break,
        }
        assert!(pages < 50, "paging does not end");
    }
    (entities, pages)
}

#[tokio::test]
async fn flows_outcomes_and_presences_are_listed_with_the_aggregates_ids() {
    let (sim, token) = started(SimulatorConfig::default()).await;
    let query = json!({"interval": BUSY_HOUR, "groupBy": ["flowId", "flowOutcomeId"],
                       "metrics": ["nFlow", "nFlowOutcome"]});
    let (_, body) = post(&sim, &token, "flows", &query).await;
    let ids_of = |dimension: &str| -> BTreeSet<String> {
        rows(&body)
            .into_iter()
            .filter_map(|r| r.0[dimension].as_str().map(str::to_string))
            .collect()
    };
    for (path, dimension) in [
        ("/api/v2/flows", "flowId"),
        ("/api/v2/flows/outcomes", "flowOutcomeId"),
    ] {
        let (entities, pages) = every_page(&sim, &token, path).await;
        assert!(pages > 1, "{path} pages");
        let listed: BTreeSet<String> = entities
            .iter()
            .filter_map(|e| e["id"].as_str().map(str::to_string))
            .collect();
        assert_eq!(listed.len(), entities.len(), "{path}: ids unique");
        let used = ids_of(dimension);
        assert!(
            !used.is_empty() && used.is_subset(&listed),
            "{path}: {used:?}"
        );
        assert!(
            entities
                .iter()
                .all(|e| e["name"].as_str().is_some_and(|n| !n.is_empty())),
            "{path}"
        );
        assert!(
            entities.iter().any(|e| e["name"]
                .as_str()
                .is_some_and(|n| !n.is_ascii() || n.contains('"'))),
            "{path}: names that need escaping"
        );
    }
    // Presence definitions: one answer, not paged; `systemPresence` spelled `OnQueue`.
    let (status, body) = get(&sim, &token, "/api/v2/presence/definitions").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entities = body["entities"].as_array().expect("entities");
    assert_eq!(body["total"], entities.len());
    let on_queue: Vec<&Value> = entities
        .iter()
        .filter(|e| e["systemPresence"] == "OnQueue")
        .collect();
    assert_eq!(on_queue.len(), 1, "{body}");
    let (_, users) = status_times(&sim, &token).await;
    let listed: BTreeSet<&str> = entities.iter().filter_map(|e| e["id"].as_str()).collect();
    let mapped: BTreeSet<&str> = users["systemToOrganizationMappings"]
        .as_object()
        .expect("mappings")
        .values()
        .flat_map(|ids| ids.as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(listed, mapped);
    assert_eq!(
        users["systemToOrganizationMappings"]["ON_QUEUE"][0],
        on_queue[0]["id"]
    );
}
