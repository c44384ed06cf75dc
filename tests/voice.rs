//! Voice quality sets end to end, through the real binary, against a loopback stand-in
//! that answers the conversation details query as Genesys does: the conversations with
//! activity in the asked interval, ordered by start, in pages, with `totalHits`, and a
//! 400 for a page past the 10,000 results paging reaches. The conversations are the
//! test's own, so every series can be checked against what the answer implies.
//!
//! The stand-in's world repeats one pattern of calls every 15 minutes, so whichever
//! interval the exporter polls (it polls the latest completed one), the same numbers
//! follow: the test needs no control of the clock.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{Value, json};

use common::{ExporterRun, Metrics};

const DETAILS: &str = "/api/v2/analytics/conversations/details/query";
const QUEUES: [(&str, &str); 2] = [("q-billing", "Billing"), ("q-sales", "Sales")];
const STEP: TimeDelta = TimeDelta::minutes(15);

/// One call of the pattern, relative to the start of its 15 minutes.
struct Call {
    /// Minutes from the interval's start.
    start: i64,
    /// Minutes from the interval's start; `None` while in progress.
    end: Option<i64>,
    queue: Option<&'static str>,
    mos: Option<f64>,
    received: u64,
    /// Discarded, invalid, overrun, underrun (the last two among the discarded, as the
    /// SDK's `AnalyticsMediaEndpointStat` says).
    lost: [u64; 4],
    latency_ms: Option<u64>,
}

/// The pattern of every 15 minutes. Counted in an interval: the calls that end in it,
/// among them the long one that started 10 minutes before it and the last call of the
/// previous 15 minutes (which ends 5 minutes into this one); not counted: the one
/// still in progress, and the last call, which ends in the next interval. One call
/// spans the middle of the interval, so both halves of a split return it.
fn pattern() -> Vec<Call> {
    let call = |start, end, queue, mos, received, lost, latency_ms| Call {
        start,
        end,
        queue,
        mos,
        received,
        lost,
        latency_ms,
    };
    let billing = Some("q-billing");
    let sales = Some("q-sales");
    vec![
        call(0, Some(1), billing, Some(4.4), 1000, [2, 1, 0, 0], Some(80)),
        call(
            0,
            Some(2),
            billing,
            Some(3.2),
            900,
            [30, 10, 5, 5],
            Some(300),
        ),
        call(
            -10,
            Some(3),
            billing,
            Some(2.1),
            2000,
            [100, 0, 20, 0],
            Some(150),
        ),
        call(1, Some(4), billing, None, 500, [0, 0, 0, 0], None),
        call(2, Some(5), sales, Some(4.0), 700, [1, 0, 0, 0], Some(40)),
        call(3, Some(6), sales, Some(3.6), 800, [0, 0, 0, 0], Some(60)),
        call(6, Some(9), None, Some(4.3), 600, [0, 0, 0, 0], Some(20)),
        call(8, None, billing, Some(1.0), 100, [50, 0, 0, 0], Some(900)),
        call(14, Some(20), sales, Some(1.8), 400, [9, 0, 0, 0], Some(500)),
    ]
}

/// A conversation as Genesys writes it, with the fields voice quality must never
/// export (names, numbers) filled in.
fn conversation(
    id: String,
    start: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
    call: &Call,
) -> Value {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut stats = json!({
        "codecs": ["opus"], "receivedPackets": call.received, "duplicatePackets": 3,
        "discardedPackets": call.lost[0], "invalidPackets": call.lost[1],
        "overrunPackets": call.lost[2], "underrunPackets": call.lost[3],
        "eventTime": time(start)});
    if let Some(latency) = call.latency_ms {
        stats["maxLatencyMs"] = json!(latency);
    }
    let mut participants = vec![json!({
        "purpose": "customer", "participantName": "Jane Customer",
        "sessions": [{"mediaType": "voice", "direction": "inbound", "ani": "tel:+15550100",
            "dnis": "tel:+15550199", "edgeId": "edge-1", "mediaEndpointStats": [stats],
            "segments": [{"segmentType": "interact", "segmentStart": time(start)}]}]})];
    if let Some(queue) = call.queue {
        participants.push(json!({
            "purpose": "acd", "participantName": "Queue",
            "sessions": [{"mediaType": "voice", "segments": [
                {"segmentType": "interact", "queueId": queue, "segmentStart": time(start)}]}]}));
        participants.push(json!({
            "purpose": "agent", "userId": "agent-user-id", "participantName": "Agent Smith",
            "sessions": [{"mediaType": "voice", "segments": [
                {"segmentType": "interact", "queueId": queue}]}]}));
    }
    let mut conversation = json!({
        "conversationId": id, "conversationStart": time(start),
        "originatingDirection": "inbound", "divisionIds": ["d1"],
        "participants": participants});
    if let Some(end) = end {
        conversation["conversationEnd"] = json!(time(end));
    }
    if let Some(mos) = call.mos {
        conversation["mediaStatsMinConversationMos"] = json!(mos);
        conversation["mediaStatsMinConversationRFactor"] = json!(mos * 20.0);
    }
    conversation
}

/// The start of the quarter hour now in: the world is laid out around it.
fn base() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(STEP)
        .expect("whole quarter hours")
}

/// The pattern repeated every 15 minutes around `base`, each ended call `copies` times
/// (ids distinct, a millisecond apart), in start order.
fn world(base: DateTime<Utc>, copies: usize) -> Vec<Stored> {
    let mut out = Vec::new();
    for shift in -3..=2 {
        let s = base + STEP * shift;
        for (index, call) in pattern().iter().enumerate() {
            for copy in 0..copies {
                // One call in progress a pattern: they are active in every later piece.
                if call.end.is_none() && copy > 0 {
                    continue;
                }
                let start =
                    s + TimeDelta::minutes(call.start) + TimeDelta::milliseconds(copy as i64);
                let end = call
                    .end
                    .map(|e| s + TimeDelta::minutes(e) + TimeDelta::milliseconds(copy as i64));
                let id = format!("conv-{shift}-{index}-{copy}");
                out.push((start, end, conversation(id, start, end, call)));
            }
        }
    }
    out.sort_by_key(|(start, _, _)| *start);
    out
}

/// A conversation of the stand-in's world: its start, its end (none while in
/// progress) and its JSON.
type Stored = (DateTime<Utc>, Option<DateTime<Utc>>, Value);

/// What the stand-in saw: each details request's body.
type Seen = Arc<Mutex<Vec<Value>>>;

struct StandIn {
    base: String,
    details: Seen,
}

async fn stand_in(world: Vec<Stored>) -> StandIn {
    let details: Seen = Arc::default();
    let world = Arc::new(world);
    let seen = Arc::clone(&details);
    let base = common::loopback(move |request| {
        let (world, seen) = (Arc::clone(&world), Arc::clone(&seen));
        async move { respond(request, &world, &seen).await }
    })
    .await;
    StandIn { base, details }
}

async fn respond(
    request: Request<hyper::body::Incoming>,
    world: &[Stored],
    seen: &Mutex<Vec<Value>>,
) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let (status, answer) = if path == "/oauth/token" {
        (
            200,
            json!({"access_token": "stand-in", "token_type": "bearer", "expires_in": 86400}),
        )
    } else if path == DETAILS {
        let body: Value = serde_json::from_slice(&body).unwrap_or_default();
        seen.lock().unwrap().push(body.clone());
        details(&body, world)
    } else if path == "/api/v2/routing/queues" {
        let entities: Vec<Value> = QUEUES
            .iter()
            .map(|(id, name)| json!({"id": id, "name": name}))
            .collect();
        (
            200,
            json!({"entities": entities, "pageSize": 500, "pageNumber": 1, "pageCount": 1, "total": 2}),
        )
    } else {
        (
            200,
            json!({"entities": [], "pageSize": 500, "pageNumber": 1, "pageCount": 1, "total": 0}),
        )
    };
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header(
            "date",
            Utc::now().format("%a, %d %b %Y %H:%M:%S GMT").to_string(),
        )
        .body(Full::new(Bytes::from(answer.to_string())))
        .expect("a response")
}

/// The details answer as Genesys gives it: the conversations with activity in the
/// interval (started before its end, not ended before its start), in start order, one
/// page of them; a page past 10,000 results is refused.
fn details(body: &Value, world: &[Stored]) -> (u16, Value) {
    let bad = |message: &str| {
        (
            400,
            json!({"status": 400, "code": "bad.request", "message": message}),
        )
    };
    let Some((start, end)) = body["interval"].as_str().and_then(|i| i.split_once('/')) else {
        return bad("interval");
    };
    let (Ok(start), Ok(end)) = (start.parse::<DateTime<Utc>>(), end.parse::<DateTime<Utc>>())
    else {
        return bad("interval");
    };
    if body.get("conversationFilters").is_some() {
        return bad("mediaType is a segment dimension");
    }
    let size = body["paging"]["pageSize"].as_u64().unwrap_or(25) as usize;
    let number = body["paging"]["pageNumber"].as_u64().unwrap_or(1) as usize;
    if size > 100 || size * number > 10_000 {
        return bad("paging past the 10000 results a query reaches");
    }
    let matching: Vec<&Value> = world
        .iter()
        .filter(|(s, e, _)| *s < end && e.is_none_or(|e| e >= start))
        .map(|(_, _, c)| c)
        .collect();
    let page: Vec<&Value> = matching
        .iter()
        .skip(size * (number - 1))
        .take(size)
        .copied()
        .collect();
    let mut answer = json!({"totalHits": matching.len()});
    if !page.is_empty() {
        answer["conversations"] = json!(page);
    }
    (200, answer)
}

/// Every details request's body, in the order received.
fn polled(seen: &Seen) -> Vec<Value> {
    seen.lock().unwrap().clone()
}

async fn wait_for(exporter: &common::Exporter, name: &str) -> Metrics {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let metrics = exporter.scrape().await;
        if !metrics.find(name, &[]).is_empty() {
            return metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {name}: {}",
            exporter.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

const CONFIG: &str =
    "voice_quality:\n  - {name: voice, granularity: PT15M, settle_delay: 0s, page_size: 5}\n";

/// The series per queue equal what the answer implies: the calls that ended in the
/// interval (the long call counted once, the one in progress and the one ending later
/// not at all), their MOS histogram, the share under 3.5, packets and latency; the
/// request is the documented one, page after page.
#[tokio::test(flavor = "multi_thread")]
async fn voice_series_equal_what_the_details_answer_implies() {
    let api = stand_in(world(base(), 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against_url(api.base.clone())
        .config(dir.path(), CONFIG)
        .start();
    let metrics = wait_for(&exporter, "genesys_voice_mos_count").await;
    let labels = |queue: &'static str, name: &'static str| {
        vec![
            ("query", "voice"),
            ("interval", "PT15M"),
            ("queue_id", queue),
            ("queue_name", name),
        ]
    };
    let billing = labels("q-billing", "Billing");
    let sales = labels("q-sales", "Sales");
    let none = labels("", "");
    let value = |name: &str, labels: &[(&str, &str)]| metrics.value(name, labels);
    assert_eq!(value("genesys_voice_mos_count", &billing), 3.0);
    assert!((value("genesys_voice_mos_sum", &billing) - (4.4 + 3.2 + 2.1)).abs() < 1e-9);
    assert_eq!(value("genesys_voice_mos_count", &sales), 3.0);
    assert!((value("genesys_voice_mos_sum", &sales) - (4.0 + 3.6 + 1.8)).abs() < 1e-9);
    assert_eq!(value("genesys_voice_mos_count", &none), 1.0);
    let bucket = |labels: &[(&'static str, &'static str)], le: &'static str| {
        let mut labels = labels.to_vec();
        labels.push(("le", le));
        value("genesys_voice_mos_bucket", &labels)
    };
    let billing_buckets: Vec<f64> = ["1", "1.5", "2", "2.5", "3", "3.5", "4", "4.5", "+Inf"]
        .iter()
        .map(|le| bucket(&billing, le))
        .collect();
    assert_eq!(
        billing_buckets,
        [0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0]
    );
    assert_eq!(bucket(&sales, "2"), 1.0);
    let below = |labels: &[(&'static str, &'static str)]| {
        let mut labels = labels.to_vec();
        labels.push(("threshold", "3.5"));
        value("genesys_voice_conversations_below_mos_threshold", &labels)
    };
    assert_eq!(below(&billing), 2.0);
    assert_eq!(below(&sales), 1.0);
    assert_eq!(below(&none), 0.0);
    // Packets of every call that ended, with a MOS or without; lost: discarded and
    // invalid (overruns and underruns are among the discarded).
    assert_eq!(value("genesys_voice_packets_received", &billing), 4400.0);
    assert_eq!(
        value("genesys_voice_packets_lost", &billing),
        3.0 + 40.0 + 100.0
    );
    assert_eq!(value("genesys_voice_packets_received", &sales), 1900.0);
    assert_eq!(value("genesys_voice_packets_lost", &sales), 10.0);
    assert!((value("genesys_voice_max_latency_seconds", &billing) - 0.3).abs() < 1e-9);
    assert!((value("genesys_voice_max_latency_seconds", &sales) - 0.5).abs() < 1e-9);
    // Nothing identifying reached /metrics.
    for secret in ["conv-", "Jane", "+1555", "Smith", "agent-user-id"] {
        assert!(!metrics.text.contains(secret), "{secret} exported");
        assert!(!exporter.logs().contains(secret), "{secret} logged");
    }
    assert_eq!(
        value("genesys_exporter_query_up", &[("query", "voice")]),
        1.0
    );
    // The landing page says what the set reads.
    let page = exporter.page("/").await;
    assert!(
        page.contains("<td>voice</td><td>voice quality, PT15M</td>"),
        "{page}"
    );

    // The documented request, page after page: with 5 a page, every page of the
    // interval's totalHits was asked for once.
    let requests = polled(&api.details);
    let interval = requests[0]["interval"].clone();
    let of_interval: Vec<&Value> = requests
        .iter()
        .filter(|r| r["interval"] == interval)
        .collect();
    let pages: Vec<u64> = of_interval
        .iter()
        .map(|r| r["paging"]["pageNumber"].as_u64().unwrap())
        .collect();
    assert!(pages.len() >= 3, "{pages:?}");
    assert_eq!(pages, (1..=pages.len() as u64).collect::<Vec<_>>());
    for request in &of_interval {
        assert_eq!(request["order"], "asc");
        assert_eq!(request["orderBy"], "conversationStart");
        assert_eq!(request["paging"]["pageSize"], 5);
        assert_eq!(
            request["segmentFilters"],
            json!([{"type": "and", "predicates": [{"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}]}])
        );
        assert!(request.get("conversationFilters").is_none());
    }
    let counted = value(
        "genesys_exporter_api_requests_total",
        &[("endpoint", "conversation_details"), ("code", "200")],
    );
    assert!(counted >= pages.len() as f64);
    // The plan prices the set at the pages this poll took, once in 15 minutes.
    let after = exporter.scrape().await;
    let planned = after.value(
        "genesys_exporter_planned_requests_per_minute",
        &[("query", "voice")],
    );
    // In the hour after a UTC midnight a poll also reads the calls in progress at
    // midnight: the last second before it, one more piece.
    let midnight_pieces = requests
        .iter()
        .filter(|r| {
            r["interval"]
                .as_str()
                .is_some_and(|i| i.contains("T23:59:59") && i.ends_with("T00:00:00.000Z"))
        })
        .count();
    assert_eq!(
        after.value(
            "genesys_exporter_query_requests_per_poll",
            &[("query", "voice")]
        ),
        (pages.len() + midnight_pieces) as f64
    );
    assert!(
        (planned - (pages.len() + midnight_pieces) as f64 / 15.0).abs() < 1e-9,
        "{planned} for {pages:?} and {midnight_pieces} piece(s) before midnight"
    );
}

/// An interval of more voice calls than a details query reaches (12,000 against 10,000)
/// is split in halves: every call counted once, none lost, none twice (the long calls
/// in both halves), and no page past the cap asked for.
#[tokio::test(flavor = "multi_thread")]
async fn an_interval_past_the_result_cap_is_split_and_counted_once() {
    // 9 calls a pattern, 1,500 copies: 12,000 end in each interval.
    let api = stand_in(world(base(), 1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = "voice_quality:\n  - {name: voice, granularity: PT15M, settle_delay: 0s}\n";
    let exporter = ExporterRun::against_url(api.base.clone())
        .arg("--genesys.requests-per-minute", "6000")
        .config(dir.path(), config)
        .start();
    let metrics = wait_for(&exporter, "genesys_voice_mos_count").await;
    let labels = [("query", "voice"), ("queue_id", "q-billing")];
    assert_eq!(
        metrics.value("genesys_voice_mos_count", &labels),
        3.0 * 1500.0
    );
    assert_eq!(
        metrics.value("genesys_voice_packets_received", &labels),
        4400.0 * 1500.0
    );
    let sales = [("query", "voice"), ("queue_id", "q-sales")];
    assert_eq!(
        metrics.value("genesys_voice_mos_count", &sales),
        3.0 * 1500.0
    );
    let requests = polled(&api.details);
    let intervals: BTreeMap<String, usize> = requests.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r["interval"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
        m
    });
    // The whole interval once (its first page told the total), then its halves.
    assert!(intervals.len() >= 3, "{intervals:?}");
    assert!(intervals.values().any(|&pages| pages == 1), "{intervals:?}");
    for request in &requests {
        let reach = request["paging"]["pageSize"].as_u64().unwrap()
            * request["paging"]["pageNumber"].as_u64().unwrap();
        assert!(reach <= 10_000, "{request}");
    }
}

/// Bad voice quality sets stop the exporter with exit status 2 and a message naming
/// the file, the set and the field.
#[test]
fn a_bad_voice_set_exits_2_naming_file_set_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let (status, stderr) = ExporterRun::against_url("http://127.0.0.1:9".into())
        .config(
            dir.path(),
            "voice_quality:\n  - {name: voice, granularity: PT15M, group_by: [queue, trunk]}\n",
        )
        .run_to_exit();
    assert_eq!(status.code(), Some(2), "{stderr}");
    // The message as logged (logfmt escapes its quotes).
    for part in [
        "config.yaml: voice_quality set",
        "voice",
        "field `group_by[1]`:",
        "trunk",
        "is not a voice grouping",
    ] {
        assert!(stderr.contains(part), "{part}: {stderr}");
    }
}

/// `report` and `backfill` of a voice quality set give, for every completed bucket,
/// what the answer implies: the same numbers as `/metrics`, under the series' names.
#[tokio::test(flavor = "multi_thread")]
async fn report_and_backfill_of_a_voice_set_give_what_the_answer_implies() {
    let base = base();
    let api = stand_in(world(base, 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (from, to) = (time(base - STEP * 2), time(base));
    let run = |args: &[&str]| {
        ExporterRun::against_url(api.base.clone())
            .arg("--config.file", config.to_string_lossy())
            .subcommand(args)
            .run_to_exit()
    };
    let csv = dir.path().join("voice.csv");
    let (status, logs) = run(&[
        "report",
        "--from",
        &from,
        "--to",
        &to,
        "--query",
        "voice",
        "--format",
        "csv",
        "--output",
        &csv.to_string_lossy(),
    ]);
    assert!(status.success(), "{logs}");
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let column = |name: &str| {
        rows[0]
            .iter()
            .position(|c| *c == name)
            .unwrap_or_else(|| panic!("no column {name}: {text}"))
    };
    let billing: Vec<&Vec<&str>> = rows.iter().filter(|r| r.contains(&"q-billing")).collect();
    assert_eq!(billing.len(), 2, "{text}");
    for row in billing {
        let number = |name: &str| row[column(name)].parse::<f64>().unwrap();
        assert_eq!(row[column("queue_name")], "Billing");
        assert_eq!(number("voice_mos_count"), 3.0);
        assert_eq!(number("voice_conversations_below_mos_threshold"), 2.0);
        assert_eq!(number("voice_packets_received"), 4400.0);
        assert_eq!(number("voice_packets_lost"), 143.0);
        assert_eq!(number("voice_mos_bucket_le_2_5"), 1.0);
        assert_eq!(number("voice_mos_bucket_le_inf"), 3.0);
        assert!((number("voice_mos_avg") - 9.7 / 3.0).abs() < 1e-9);
        assert!((number("voice_max_latency_seconds") - 0.3).abs() < 1e-9);
    }
    assert!(!text.contains("conv-") && !text.contains("Jane"), "{text}");

    let om = dir.path().join("voice.om");
    let (status, logs) = run(&[
        "backfill",
        "--from",
        &from,
        "--to",
        &to,
        "--query",
        "voice",
        "--output",
        &om.to_string_lossy(),
    ]);
    assert!(status.success(), "{logs}");
    let text = std::fs::read_to_string(&om).unwrap();
    let series = "genesys_voice_packets_lost{query=\"voice\",interval=\"PT15M\",queue_id=\"q-billing\",queue_name=\"Billing\",job=";
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(series))
        .filter_map(|l| l.rsplit(' ').nth(1)?.parse().ok())
        .collect();
    assert!(
        !values.is_empty(),
        "no {series} in:\n{}",
        &text[..text.len().min(3000)]
    );
    assert!(values.iter().all(|v| *v == 143.0), "{values:?}");
}

/// A reload that adds a voice quality set starts it (its series appear), and one that
/// removes it stops it (its series go).
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_adds_and_removes_a_voice_set() {
    let api = stand_in(world(base(), 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let without = "queries:\n  - {name: q, granularity: PT30M, metrics: [nOffered]}\n";
    let mut run = ExporterRun::against_url(api.base.clone()).config(dir.path(), without);
    run.args.push("--web.enable-lifecycle".into());
    let exporter = run.start();
    exporter.wait_ready().await;
    assert!(
        exporter
            .scrape()
            .await
            .find("genesys_voice_mos_count", &[])
            .is_empty()
    );
    let reload = |yaml: String| {
        std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
        let url = exporter.url("/-/reload");
        async move {
            let answer = reqwest::Client::new().post(url).send().await.unwrap();
            let status = answer.status();
            assert_eq!(status, 200, "{}", answer.text().await.unwrap_or_default());
        }
    };
    reload(format!("{without}{CONFIG}")).await;
    let metrics = wait_for(&exporter, "genesys_voice_mos_count").await;
    assert_eq!(
        metrics.value("genesys_voice_mos_count", &[("queue_id", "q-billing")]),
        3.0
    );
    reload(without.to_string()).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !exporter
        .scrape()
        .await
        .find("genesys_voice_mos_count", &[])
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the removed set's series stay"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
