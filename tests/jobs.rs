//! Asynchronous aggregate jobs over real HTTP on loopback: the simulator's jobs endpoints
//! (states, cursor pages equal to the synchronous answer, refusals naming their field,
//! unknown jobs, cancelling), the client's job (requests counted, FAILED and EXPIRED as
//! clear errors) and `backfill` through jobs writing exactly what it writes through
//! synchronous requests.

mod common;

use std::path::Path;
use std::process::ExitStatus;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use serde_json::{Value, json};

use common::{CLIENT_SECRET, ExporterRun, aggregates, client, simulator, token};
use genesys_cloud_exporter::genesys::bodies::AggregateQuery;
use genesys_cloud_exporter::genesys::jobs::{JobError, JobTiming};
use genesys_cloud_exporter::genesys::sources::{CONVERSATIONS, source};
use genesys_cloud_exporter::simulator::{JobOutcome, Simulator, SimulatorConfig};

const JOBS: &str = "/api/v2/analytics/conversations/aggregates/jobs";

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Two days of half-hours by queue and media type, ending at a midnight over a day ago.
fn body() -> Value {
    let end = (Utc::now() - TimeDelta::days(1))
        .duration_trunc(TimeDelta::days(1))
        .unwrap();
    json!({"interval": format!("{}/{}", rfc3339(end - TimeDelta::days(2)), rfc3339(end)),
        "granularity": "PT30M", "timeZone": "UTC", "groupBy": ["queueId", "mediaType"],
        "metrics": ["nOffered", "tHandle"]})
}

async fn call(
    sim: &Simulator,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}{path}", sim.base_url()))
        .bearer_auth(token(sim).await);
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn submit(sim: &Simulator, body: &Value) -> String {
    let (status, answer) = call(sim, reqwest::Method::POST, JOBS, Some(body)).await;
    assert_eq!(status, 202, "{answer}");
    answer["jobId"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_is_queued_can_be_cancelled_and_an_unknown_job_is_404() {
    let sim = simulator(SimulatorConfig {
        job_delay: Duration::from_secs(3_600),
        ..SimulatorConfig::default()
    })
    .await;
    let job = submit(&sim, &body()).await;
    let (status, answer) = call(&sim, reqwest::Method::GET, &format!("{JOBS}/{job}"), None).await;
    assert_eq!(status, 200);
    assert_eq!(answer["state"], "QUEUED");
    assert!(answer["submissionDate"].is_string());
    assert!(answer.get("completionDate").is_none());
    // Its results are not there yet.
    let results = format!("{JOBS}/{job}/results");
    let (status, answer) = call(&sim, reqwest::Method::GET, &results, None).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("QUEUED"));

    let (status, _) = call(
        &sim,
        reqwest::Method::DELETE,
        &format!("{JOBS}/{job}"),
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (_, answer) = call(&sim, reqwest::Method::GET, &format!("{JOBS}/{job}"), None).await;
    assert_eq!(answer["state"], "CANCELLED");

    let (status, answer) = call(
        &sim,
        reqwest::Method::GET,
        &format!("{JOBS}/no-such-job"),
        None,
    )
    .await;
    assert_eq!(status, 404, "{answer}");
    // A job is its source's: the users' jobs do not know it.
    let users = format!("/api/v2/analytics/users/aggregates/jobs/{job}");
    assert_eq!(call(&sim, reqwest::Method::GET, &users, None).await.0, 404);
    // Flow executions have no jobs.
    let none = "/api/v2/analytics/flowexecutions/aggregates/jobs";
    assert_eq!(
        call(&sim, reqwest::Method::POST, none, Some(&body()))
            .await
            .0,
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_body_is_refused_as_the_synchronous_query_is_naming_the_field() {
    let sim = simulator(SimulatorConfig::default()).await;
    let with = |key: &str, value: Value| {
        let mut body = body();
        body[key] = value;
        body
    };
    for (body, field) in [
        (with("metrics", json!(["nOfered"])), "metrics[0]"),
        (with("interval", json!("2026-11-01T00:00:00Z")), "interval"),
        (with("pageSize", json!(0)), "pageSize"),
        (with("pageSize", json!(1_001)), "pageSize"),
        (with("queryType", json!("everything")), "queryType"),
    ] {
        let (status, answer) = call(&sim, reqwest::Method::POST, JOBS, Some(&body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["details"][0]["fieldName"], field, "{answer}");
    }
    assert_eq!(sim.jobs_submitted(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fulfilled_jobs_pages_are_the_synchronous_answer_cut_by_page_size() {
    // Queues enough that pages start and end inside and across the slices of queues the
    // simulator computes a page by.
    let sim = simulator(SimulatorConfig {
        job_delay: Duration::ZERO,
        queue_count: 20,
        ..SimulatorConfig::default()
    })
    .await;
    let mut query = body();
    query["pageSize"] = json!(7);
    query["queryType"] = json!("groupBy");
    let job = submit(&sim, &query).await;
    // PENDING while its results are computed, then FULFILLED.
    let status = loop {
        let (_, status) = call(&sim, reqwest::Method::GET, &format!("{JOBS}/{job}"), None).await;
        if status["state"] != "PENDING" {
            break status;
        }
        tokio::task::yield_now().await;
    };
    assert_eq!(status["state"], "FULFILLED", "{status}");
    assert!(status["completionDate"].is_string() && status["expirationDate"].is_string());

    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("{JOBS}/{job}/results?cursor={cursor}"),
            None => format!("{JOBS}/{job}/results"),
        };
        let (status, page) = call(&sim, reqwest::Method::GET, &path, None).await;
        assert_eq!(status, 200, "{page}");
        if pages == 1 {
            // A page asked for again (a retry) is the same page.
            let (_, again) = call(&sim, reqwest::Method::GET, &path, None).await;
            assert_eq!(again, page);
        }
        let results = page["results"].as_array().unwrap();
        assert!(results.len() <= 7);
        paged.extend(results.iter().cloned());
        pages += 1;
        match page.get("cursor").and_then(Value::as_str) {
            Some(next) => {
                assert_eq!(results.len(), 7, "only the last page is short");
                cursor = Some(next.to_string());
            }
            None => break,
        }
    }
    let whole = aggregates(&sim, &body()).await;
    let whole = whole["results"].as_array().unwrap();
    assert_eq!(&paged, whole);
    assert_eq!(pages, whole.len().div_ceil(7));
    assert!(pages > 1, "the test wants several pages");

    let bad = format!("{JOBS}/{job}/results?cursor=nonsense");
    let (status, answer) = call(&sim, reqwest::Method::GET, &bad, None).await;
    assert_eq!(status, 400);
    assert_eq!(answer["details"][0]["fieldName"], "cursor");
}

/// The body of a job the client sends, over `body()`'s interval.
fn run_job_query<'a>(group_by: &'a [String], metrics: &'a [String]) -> AggregateQuery<'a> {
    AggregateQuery {
        interval: body()["interval"].as_str().unwrap().to_string(),
        granularity: "PT30M".into(),
        time_zone: "UTC",
        group_by,
        metrics,
        filter: None,
    }
}

fn quick() -> JobTiming {
    JobTiming {
        first_poll: Duration::from_millis(20),
        longest_poll: Duration::from_millis(100),
        give_up_after: Duration::from_secs(60),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_clients_job_hands_on_every_result_and_counts_its_requests() {
    let sim = simulator(SimulatorConfig {
        job_delay: Duration::from_millis(200),
        ..SimulatorConfig::default()
    })
    .await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    let group_by = vec!["queueId".to_string(), "mediaType".to_string()];
    let metrics = vec!["nOffered".to_string(), "tHandle".to_string()];
    let query = run_job_query(&group_by, &metrics);
    let mut groups = Vec::new();
    let cost = client
        .run_aggregate_job(CONVERSATIONS, &query, &quick(), &mut |result| {
            groups.push(result.group.get("queueId").map(|v| v.0.clone()));
            true
        })
        .await
        .unwrap();
    let whole = aggregates(&sim, &body()).await;
    assert_eq!(groups.len(), whole["results"].as_array().unwrap().len());
    assert_eq!(cost.pages, 1, "fewer than 1,000 groups: one page");
    assert!(cost.polls >= 1);
    assert_eq!(cost.requests, 1 + cost.polls + cost.pages);
    // The simulator saw exactly those requests, under the jobs paths.
    let seen = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with(JOBS))
        .count();
    assert_eq!(seen, cost.requests as usize);
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_and_expired_jobs_are_clear_errors() {
    let sim = simulator(SimulatorConfig {
        job_delay: Duration::from_millis(50),
        ..SimulatorConfig::default()
    })
    .await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    let group_by = vec!["queueId".to_string()];
    let metrics = vec!["nOffered".to_string()];
    let query = run_job_query(&group_by, &metrics);
    let users = source("users").unwrap();
    let user_metrics = vec!["tAgentRoutingStatus".to_string()];
    let user_query = run_job_query(&[], &user_metrics);

    sim.set_job_outcome(JobOutcome::Failed("Query exceeded the result limit".into()));
    let err = client
        .run_aggregate_job(CONVERSATIONS, &query, &quick(), &mut |_| true)
        .await
        .unwrap_err();
    assert!(matches!(err, JobError::Failed { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("aggregate_jobs")
            && text.contains("FAILED")
            && text.contains("Query exceeded the result limit"),
        "{text}"
    );

    sim.set_job_outcome(JobOutcome::Expired);
    let err = client
        .run_aggregate_job(users, &user_query, &quick(), &mut |_| true)
        .await
        .unwrap_err();
    assert!(matches!(err, JobError::Expired { .. }), "{err}");
    assert!(
        err.to_string().starts_with("users_aggregate_jobs: job "),
        "{err}"
    );

    // A refused body: the field named, no job made.
    sim.set_job_outcome(JobOutcome::Fulfilled);
    let bad = vec!["nOfered".to_string()];
    let err = client
        .run_aggregate_job(
            CONVERSATIONS,
            &run_job_query(&group_by, &bad),
            &quick(),
            &mut |_| true,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("HTTP 400") && err.to_string().contains("nOfered"),
        "{err}"
    );

    // A source without jobs is refused before any request.
    let flowexecutions = source("flowexecutions").unwrap();
    let err = client
        .run_aggregate_job(flowexecutions, &query, &quick(), &mut |_| true)
        .await
        .unwrap_err();
    assert!(matches!(err, JobError::NoJobs { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_expiring_while_its_pages_are_read_says_so() {
    let sim = simulator(SimulatorConfig {
        job_delay: Duration::ZERO,
        ..SimulatorConfig::default()
    })
    .await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    let group_by = vec!["queueId".to_string(), "mediaType".to_string()];
    let metrics = vec!["nOffered".to_string()];
    let query = run_job_query(&group_by, &metrics);
    // The job expires as its first result arrives: the page being read is the last.
    let mut first = true;
    let err = client
        .run_aggregate_job(CONVERSATIONS, &query, &quick(), &mut |_| {
            if first {
                sim.expire_jobs();
                first = false;
            }
            true
        })
        .await;
    // One page holds every group of this org, so the read completes; what expired
    // after the last page is no error.
    assert!(err.is_ok(), "{err:?}");
}

/// Small on purpose: 40 days are written three times.
const HALF_HOURLY: &str = "queries:\n  - name: history\n    granularity: PT30M\n    group_by: [queueId]\n    metrics: [nOffered]\n";

fn backfill(
    sim: &Simulator,
    dir: &Path,
    api: &str,
    output: &Path,
    from: &str,
    to: &str,
) -> (ExitStatus, String) {
    ExporterRun::against(sim)
        .config(dir, HALF_HOURLY)
        .subcommand(&[
            "backfill",
            "--from",
            from,
            "--to",
            to,
            "--api",
            api,
            "--job-poll",
            "20ms",
            "--sample-interval",
            "30m",
            "--output",
            &output.to_string_lossy(),
        ])
        .run_to_exit()
}

/// A backfill file's lines, sorted: the files of two runs hold the same samples when
/// these are equal (groups arrive in another order by job than by 7-day request, and the
/// writer writes them as they arrive).
fn lines(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// The aggregates requests of the simulator from the `from`th on: (synchronous queries,
/// job submissions, every request to a jobs path).
fn counted(sim: &Simulator, from: usize) -> (usize, usize, usize) {
    let requests = &sim.requests()[from..];
    let queries = requests
        .iter()
        .filter(|r| r.path.ends_with("/aggregates/query"))
        .count();
    let submitted = requests
        .iter()
        .filter(|r| r.path == JOBS && r.method == "POST")
        .count();
    let jobs = requests.iter().filter(|r| r.path.starts_with(JOBS)).count();
    (queries, submitted, jobs)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_through_jobs_writes_the_same_samples_as_through_synchronous_requests() {
    let sim = simulator(SimulatorConfig {
        job_delay: Duration::from_millis(100),
        ..SimulatorConfig::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let to = (Utc::now() - TimeDelta::days(1))
        .duration_trunc(TimeDelta::days(1))
        .unwrap();
    let from = to - TimeDelta::days(40);
    let (from, to) = (rfc3339(from), rfc3339(to));

    let sync = dir.path().join("sync.om");
    let (status, logs) = backfill(&sim, dir.path(), "sync", &sync, &from, &to);
    assert!(status.success(), "{logs}");
    // 40 days: six requests of up to 7 days.
    assert_eq!(counted(&sim, 0), (6, 0, 0));

    let jobs = dir.path().join("jobs.om");
    let before = sim.requests().len();
    let (status, logs) = backfill(&sim, dir.path(), "jobs", &jobs, &from, &to);
    assert!(status.success(), "{logs}");
    assert!(logs.contains("reading=jobs"), "{logs}");
    // Two jobs (31 days, then 9), each a submission, its status reads and one page.
    let (queries, submitted, requests) = counted(&sim, before);
    assert_eq!((queries, submitted), (0, 2));
    assert!(requests >= 6, "{requests}");
    assert_eq!(lines(&sync), lines(&jobs));

    // auto: the first 7 days synchronously (8 groups seen), then a 31-day job (3
    // requests against 5), then the last 2 days synchronously (1 against 3).
    let auto = dir.path().join("auto.om");
    let before = sim.requests().len();
    let (status, logs) = backfill(&sim, dir.path(), "auto", &auto, &from, &to);
    assert!(status.success(), "{logs}");
    assert!(logs.contains("reading=auto"), "{logs}");
    let (queries, submitted, _) = counted(&sim, before);
    assert_eq!((queries, submitted), (2, 1));
    assert_eq!(lines(&sync), lines(&auto));
}
