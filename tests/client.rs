//! The Genesys client against the simulator over real HTTP: tokens, 401, 429, retries,
//! and the API budget.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{CLIENT_SECRET, ExporterRun, client, client_with, settings, simulator, statuses};
use genesys_cloud_exporter::config::Config;
use genesys_cloud_exporter::genesys::bodies::AggregateQuery;
use genesys_cloud_exporter::genesys::names::NameDirectory;
use genesys_cloud_exporter::genesys::region::Endpoints;
use genesys_cloud_exporter::genesys::{ApiError, GenesysClient, sources};
use genesys_cloud_exporter::schedule::{Planner, PollContext, Poller};
use genesys_cloud_exporter::simulator::{
    Fault, FaultKind, FaultRule, RecordedRequest, Simulator, SimulatorConfig, Trigger,
};
use genesys_cloud_exporter::snapshot::SnapshotStore;
use genesys_cloud_exporter::telemetry::Telemetry;

const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";
const QUEUES: &str = "/api/v2/routing/queues";
const TOKEN: &str = "/oauth/token";

async fn query(client: &GenesysClient) -> Result<(), ApiError> {
    ask(client)
        .await
        .map(|results| assert!(results > 0, "no results"))
}

/// One aggregates query; how many results it got.
async fn ask(client: &GenesysClient) -> Result<usize, ApiError> {
    let metrics = vec!["nOffered".to_string()];
    let group_by = vec!["queueId".to_string()];
    client
        .query_aggregates(
            sources::CONVERSATIONS,
            &AggregateQuery {
                interval: "2026-11-25T09:00:00.000Z/2026-11-25T09:30:00.000Z".into(),
                granularity: "PT30M".into(),
                time_zone: "UTC",
                group_by: &group_by,
                metrics: &metrics,
                filter: None,
            },
        )
        .await
        .map(|delivered| delivered.value.results.len())
}

/// A client that logs in at `sim` and sends its API calls to `api`.
fn client_for_api(sim: &Simulator, api: std::net::SocketAddr) -> GenesysClient {
    let mut settings = settings(sim, CLIENT_SECRET, 300);
    settings.endpoints = Endpoints::resolve(
        "us_east_1",
        Some(&format!("http://{api}")),
        Some(&sim.base_url()),
    )
    .unwrap();
    client_with(settings).0
}

/// The next `count` aggregates requests are answered with `status`.
fn fail_next(sim: &Simulator, count: u32, status: u16) {
    sim.inject_fault(Fault {
        path_prefix: AGGREGATES.into(),
        status,
        retry_after: None,
        count,
    });
}

fn aggregates_requests(sim: &Simulator) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path == AGGREGATES)
        .collect()
}

fn encoded(telemetry: &Telemetry) -> String {
    let mut text = String::new();
    telemetry.encode_prometheus_text(&mut text).unwrap();
    text
}

/// A 70 s token is due for renewal 10 s after it was issued (renewal margin 60 s): it is
/// reused until then, renewed at the first call after, and never used expired. Ten
/// seconds is a generous bound for the first two local calls; the renewal itself is
/// waited for, not timed.
#[tokio::test]
async fn the_token_is_cached_and_renewed_a_minute_before_expiry() {
    let sim = simulator(SimulatorConfig {
        token_lifetime: Duration::from_secs(70),
        ..SimulatorConfig::default()
    })
    .await;
    let (client, telemetry) = client(&sim, CLIENT_SECRET);
    query(&client).await.unwrap();
    query(&client).await.unwrap();
    assert_eq!(sim.tokens_issued(), 1, "the token is reused while fresh");
    let deadline = Instant::now() + Duration::from_secs(50);
    while sim.tokens_issued() < 2 {
        assert!(Instant::now() < deadline, "the token was never renewed");
        tokio::time::sleep(Duration::from_millis(200)).await;
        query(&client).await.unwrap();
    }
    let logins: Vec<Instant> = sim
        .requests()
        .iter()
        .filter(|r| r.path == TOKEN)
        .map(|r| r.at)
        .collect();
    assert_eq!(logins.len(), 2);
    let renewed_after = logins[1] - logins[0];
    // Due 10 s after the login was sent, which is a round trip before the simulator
    // saw it: a second of slack for that.
    assert!(
        renewed_after >= Duration::from_secs(9),
        "renewed {renewed_after:?} after login, before the margin"
    );
    assert!(encoded(&telemetry).contains("genesys_exporter_token_renewals_total 2"));
    // No API call was ever refused for its token.
    assert!(!statuses(&sim, AGGREGATES).contains(&401));
}

#[tokio::test]
async fn a_rejected_token_is_renewed_once_and_the_call_repeated() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    query(&client).await.unwrap();
    sim.revoke_tokens();
    query(&client).await.unwrap();
    assert_eq!(statuses(&sim, AGGREGATES), vec![200, 401, 200]);
    assert_eq!(sim.tokens_issued(), 2);
}

#[tokio::test]
async fn a_token_refused_twice_is_an_error_not_a_loop() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    fail_next(&sim, 5, 401);
    let err = query(&client).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Rejected { status: 401, .. }),
        "{err}"
    );
    assert_eq!(statuses(&sim, AGGREGATES), vec![401, 401]);
}

#[tokio::test]
async fn wrong_credentials_give_the_servers_description_and_no_secret() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, "wrong-secret-123");
    let err = query(&client).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ApiError::Credentials { .. }), "{text}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("wrong-secret-123"), "{text}");
    assert!(
        statuses(&sim, AGGREGATES).is_empty(),
        "no API call without a token"
    );
}

#[tokio::test]
async fn a_429_is_waited_out_for_its_retry_after() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, telemetry) = client(&sim, CLIENT_SECRET);
    sim.inject_fault(Fault {
        path_prefix: AGGREGATES.into(),
        status: 429,
        retry_after: Some(2),
        count: 1,
    });
    let started = Instant::now();
    query(&client).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let requests = aggregates_requests(&sim);
    assert_eq!(
        requests.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    assert!(requests[1].at - requests[0].at >= Duration::from_secs(2));
    assert!(
        encoded(&telemetry)
            .contains(r#"genesys_exporter_api_requests_total{endpoint="aggregates",code="429"} 1"#)
    );
}

/// A `Retry-After` longer than is worth retrying (here 3 s over a lowered 1 s; 200 s over
/// 180 s in production) is honoured, not probed: the poll fails at once with query up 0
/// and an error naming the wait, no API call is made for the whole wait, and the query
/// polls successfully once it has passed.
#[tokio::test]
async fn a_retry_after_too_long_to_retry_holds_every_call_and_fails_the_poll_at_once() {
    const RETRY_AFTER: u64 = 3;
    let sim = simulator(SimulatorConfig::default()).await;
    // 3 s over a lowered 1 s, as 200 s over the 180 s of production.
    let mut lowered = settings(&sim, CLIENT_SECRET, 300);
    lowered.retry.max_retry_after = Duration::from_secs(1);
    let (client, telemetry) = client_with(lowered);
    let client = Arc::new(client);
    sim.inject_fault(Fault {
        path_prefix: AGGREGATES.into(),
        status: 429,
        retry_after: Some(RETRY_AFTER),
        count: 1,
    });
    let config = Config::from_yaml(
        "queries: [{name: q, granularity: PT30M, group_by: [mediaType], metrics: [nOffered]}]",
        "test.yaml",
    )
    .unwrap();
    let store = Arc::new(SnapshotStore::new([("q", "PT30M".to_string())]));
    let planner = Planner::new(&config, Duration::from_secs(300), 300, &telemetry).unwrap();
    let context = PollContext {
        planner: Arc::new(planner),
        client: Arc::clone(&client),
        names: Arc::new(NameDirectory::new([], Arc::clone(&telemetry))),
        store: Arc::clone(&store),
        telemetry: Arc::clone(&telemetry),
        retry_delay: Duration::from_millis(100),
        push: Default::default(),
    };
    let poller =
        tokio::spawn(Poller::new(config.queries.into_iter().next().unwrap(), context).run());
    let status = || store.statuses().into_iter().next().unwrap();
    // The poll fails at once: before the wait is over, with the only call the 429.
    let deadline = Instant::now() + Duration::from_secs(30);
    while status().last_error.is_none() {
        assert!(Instant::now() < deadline, "the poll never failed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let limited_at = sim
        .requests()
        .iter()
        .find(|r| r.path == AGGREGATES)
        .map(|r| r.at)
        .unwrap();
    assert!(
        limited_at.elapsed() < Duration::from_secs(RETRY_AFTER),
        "the poll failed only after the wait"
    );
    let error = status().last_error.unwrap();
    assert!(
        error.contains("Retry-After 3 s") && error.contains("held until"),
        "{error}"
    );
    assert!(
        encoded(&telemetry).contains(r#"genesys_exporter_query_up{query="q"} 0"#),
        "{}",
        encoded(&telemetry)
    );
    assert_eq!(statuses(&sim, AGGREGATES), vec![429]);
    // Then it recovers, and nothing was sent during the wait.
    while status().last_success.is_none() {
        assert!(Instant::now() < deadline, "the query never recovered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    poller.abort();
    let api: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect();
    assert_eq!(
        api.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 200]
    );
    assert!(
        api[1].at - api[0].at >= Duration::from_secs(RETRY_AFTER),
        "a call {:?} into the wait",
        api[1].at - api[0].at
    );
    assert!(encoded(&telemetry).contains(r#"genesys_exporter_query_up{query="q"} 1"#));
}

/// A 429 without `Retry-After` but with `inin-ratelimit-reset` waits for the reset,
/// not for the first backoff step (50 ms here). The simulator's own 429 always has
/// `Retry-After`, so a loopback stand-in answers this one.
#[tokio::test]
async fn a_429_without_retry_after_waits_for_the_rate_limit_reset() {
    let sim = simulator(SimulatorConfig::default()).await;
    let api = CannedApi::start(vec![
        "HTTP/1.1 429 Too Many Requests\r\ninin-ratelimit-reset: 2\r\n\
         inin-ratelimit-count: 300\r\ninin-ratelimit-allowed: 300\r\n\
         content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 14\r\n\
         connection: close\r\n\r\n{\"results\":[]}",
    ])
    .await;
    let client = client_for_api(&sim, api.address);
    assert_eq!(ask(&client).await.unwrap(), 0);
    let arrivals = api.arrivals();
    assert_eq!(arrivals.len(), 2, "one 429, one retry");
    let waited = arrivals[1] - arrivals[0];
    assert!(
        waited >= Duration::from_secs(2),
        "retried {waited:?} after a 429 with inin-ratelimit-reset: 2"
    );
}

/// An HTTP server on loopback that answers each connection with the next canned
/// response (each closes its connection) and notes when each request arrived.
struct CannedApi {
    address: std::net::SocketAddr,
    arrivals: Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl CannedApi {
    async fn start(responses: Vec<&'static str>) -> CannedApi {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let noted = Arc::clone(&arrivals);
        tokio::spawn(async move {
            for response in responses {
                let (mut stream, _) = listener.accept().await.unwrap();
                // The whole request: headers, then as many bytes as Content-Length says.
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let read = stream.read(&mut chunk).await.unwrap();
                    request.extend_from_slice(&chunk[..read]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        if request.len() >= end + 4 + length || read == 0 {
                            break;
                        }
                    }
                    assert!(read > 0, "the request ended early");
                }
                noted.lock().unwrap().push(Instant::now());
                stream.write_all(response.as_bytes()).await.unwrap();
                stream.shutdown().await.unwrap();
            }
        });
        CannedApi { address, arrivals }
    }

    fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_a_bounded_number_of_times() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    fail_next(&sim, 2, 503);
    query(&client).await.unwrap();
    assert_eq!(statuses(&sim, AGGREGATES), vec![503, 503, 200]);

    fail_next(&sim, 10, 500);
    let err = query(&client).await.unwrap_err();
    assert!(matches!(err, ApiError::Server { status: 500, .. }), "{err}");
    // One attempt and three retries, then it gives up.
    assert_eq!(
        statuses(&sim, AGGREGATES)
            .iter()
            .filter(|s| **s == 500)
            .count(),
        4
    );
}

#[tokio::test]
async fn bad_requests_and_forbidden_are_not_retried() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    for status in [400u16, 403] {
        fail_next(&sim, 1, status);
        let err = query(&client).await.unwrap_err();
        assert!(err.is_permanent(), "{err}");
    }
    assert_eq!(statuses(&sim, AGGREGATES), vec![400, 403]);
}

/// 501 Not Implemented is a server error that retrying cannot fix: one request, and
/// the error says 501.
#[tokio::test]
async fn not_implemented_is_not_retried() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    fail_next(&sim, 5, 501);
    let err = query(&client).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert!(err.to_string().contains("501"), "{err}");
    assert_eq!(statuses(&sim, AGGREGATES), [501]);
}

/// A connection cut before the answer is a transport error: retried (three times here),
/// then reported.
#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    let sim = simulator(SimulatorConfig::default()).await;
    // Each connection is closed without a byte of answer; one spare for a fifth try.
    let api = CannedApi::start(vec![""; 5]).await;
    let client = client_for_api(&sim, api.address);
    let err = ask(&client).await.unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err}");
    assert_eq!(api.arrivals().len(), 4, "one attempt and three retries");
}

/// The budget holds in every 60-second window, retries and start-up included, while the
/// queries want far more than it allows; polls that waited are counted.
#[tokio::test(flavor = "multi_thread")]
async fn the_request_rate_never_exceeds_the_budget_in_any_minute() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // Eight queries refreshing every 10 s plan 48 requests a minute, which a budget of
    // 50 takes; half the answers are 503s, so their retries want about twice as many.
    sim.add_fault(FaultRule {
        path_prefix: AGGREGATES.into(),
        kind: FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        trigger: Trigger::Rate(0.5),
    });
    let mut config = String::from("queries:\n");
    for i in 0..8 {
        config.push_str(&format!(
            "  - name: q{i}\n    granularity: PT5M\n    settle_delay: 1s\n    refresh: 10s\n    group_by: [mediaType]\n    metrics: [nOffered]\n"
        ));
    }
    let budget = 50;
    let exporter = ExporterRun::against(&sim)
        .config(dir.path(), &config)
        .arg("--genesys.requests-per-minute", budget.to_string())
        .start();
    tokio::time::sleep(Duration::from_secs(75)).await;
    let metrics = exporter.scrape().await;
    let api_calls: Vec<Instant> = sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| r.at)
        .collect();
    let busiest_minute = busiest_minute(&api_calls);
    assert!(
        busiest_minute <= budget,
        "{busiest_minute} API calls in one minute, budget {budget}"
    );
    assert!(
        api_calls.len() >= budget,
        "the budget was not used: {} calls",
        api_calls.len()
    );
    let delayed: f64 = metrics
        .find("genesys_exporter_polls_delayed_total", &[])
        .iter()
        .map(|s| s.value)
        .sum();
    assert!(
        delayed > 0.0,
        "no poll was counted as delayed:\n{}",
        metrics.text
    );
}

/// Three callers that always want more than the budget, through a 429 storm: no
/// request reaches the API inside any `Retry-After`, whether its caller got the 429 or
/// was waiting its turn in the budget when the 429 came, and no 60-second window holds
/// more than the budget, before, during or after the storm.
///
/// A budget of 19 has a burst of one and then grants a request every 3.33 s, so
/// requests never overlap on the wire and one that arrives inside a pause can only
/// have been let out during it; the 5 s `Retry-After` is longer than that spacing, so
/// the callers waiting in the limiter are due while the pause holds.
#[tokio::test(flavor = "multi_thread")]
async fn a_429_pause_holds_every_caller_and_the_budget_window_stays_exact() {
    const BUDGET: u32 = 19;
    const CALLERS: usize = 3;
    let retry_after = Duration::from_secs(5);
    let sim = simulator(SimulatorConfig::default()).await;
    let mut settings = settings(&sim, CLIENT_SECRET, BUDGET);
    settings.retry.max_retry_after = retry_after;
    let client = Arc::new(client_with(settings).0);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let callers: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (client, stop) = (Arc::clone(&client), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // Calls that run out of retries in the storm are expected; the
                    // caller just asks again.
                    let _ = query(&client).await;
                }
            })
        })
        .collect();
    // The storm begins once the burst is spent and everyone queues in the limiter.
    wait_for_requests(&sim, 1).await;
    let storm = Duration::from_secs(16);
    sim.add_fault(FaultRule {
        path_prefix: AGGREGATES.into(),
        kind: FaultKind::Status {
            status: 429,
            retry_after: Some(retry_after.as_secs()),
        },
        trigger: Trigger::for_next(storm),
    });
    // Long enough after the storm for a whole minute of callers held only by the budget.
    tokio::time::sleep(storm + Duration::from_secs(62)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for caller in callers {
        caller.await.unwrap();
    }

    let api = api_requests(&sim);
    let limited = api.iter().filter(|r| r.status == 429).count();
    assert!(limited >= 3, "only {limited} 429s in the storm");
    assert_no_request_inside_a_pause(&api, retry_after);
    let times: Vec<Instant> = api.iter().map(|r| r.at).collect();
    let busiest = busiest_minute(&times);
    assert!(
        busiest <= BUDGET as usize,
        "{busiest} API requests in one minute, budget {BUDGET}"
    );
    assert!(
        api.iter().filter(|r| r.status == 200).count() >= 12,
        "the callers barely got through after the storm: {api:?}"
    );
}

/// One caller runs out of retries on 429s while two others queue in the budget: its
/// last 429 holds them like every other 429 does, although that call gives up and
/// waits for nothing itself.
///
/// As above, a budget of 19 lets out one request every 3.33 s, so requests never
/// overlap on the wire; the 6 s `Retry-After` is longer than that spacing, so a queued
/// caller falls due while the last pause holds. The callers that queue ask for the
/// aggregates, the one that fails for the queues, which alone get the 429s.
#[tokio::test(flavor = "multi_thread")]
async fn a_429_on_the_last_attempt_still_holds_every_caller() {
    const BUDGET: u32 = 19;
    let retry_after = Duration::from_secs(6);
    let sim = simulator(SimulatorConfig::default()).await;
    let mut settings = settings(&sim, CLIENT_SECRET, BUDGET);
    settings.retry.max_retry_after = retry_after;
    let attempts = settings.retry.max_retries + 1;
    let client = Arc::new(client_with(settings).0);
    sim.inject_fault(Fault {
        path_prefix: QUEUES.into(),
        status: 429,
        retry_after: Some(retry_after.as_secs()),
        count: attempts,
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let queued: Vec<_> = (0..2)
        .map(|_| {
            let (client, stop) = (Arc::clone(&client), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    ask(&client).await.unwrap();
                }
            })
        })
        .collect();
    let failed = client
        .listing_page(
            "queues",
            QUEUES,
            &[("pageSize", "100"), ("pageNumber", "1")],
        )
        .await
        .unwrap_err();
    assert!(
        matches!(failed, ApiError::RateLimited { attempts: a, .. } if a == attempts),
        "{failed}"
    );
    // The queued callers go on until two of their requests have come after the last 429.
    let last_429 = api_requests(&sim)
        .iter()
        .filter(|r| r.status == 429)
        .map(|r| r.answered)
        .max()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while api_requests(&sim)
        .iter()
        .filter(|r| r.at > last_429)
        .count()
        < 2
    {
        assert!(
            Instant::now() < deadline,
            "the queued callers never went on"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for caller in queued {
        caller.await.unwrap();
    }
    let api = api_requests(&sim);
    assert_eq!(
        api.iter().filter(|r| r.status == 429).count(),
        attempts as usize
    );
    assert_no_request_inside_a_pause(&api, retry_after);
}

/// A 429 that arrives while another call renews the token holds that call too, although
/// it took its budget cell before the 429: once it has its token it waits out the
/// pause instead of sending at once.
///
/// Two calls go out with the same token: the first to arrive is refused for its token
/// (401), so its call logs in again, and the login takes 2 s; the other gets a 429 one
/// second after it arrived, in the middle of that login.
#[tokio::test]
async fn a_429_during_a_token_renewal_holds_the_call_that_renews() {
    let retry_after = Duration::from_secs(4);
    let sim = simulator(SimulatorConfig::default()).await;
    let mut settings = settings(&sim, CLIENT_SECRET, 300);
    settings.retry.max_retry_after = retry_after;
    let client = client_with(settings).0;
    // A token, cached for both calls.
    ask(&client).await.unwrap();
    let rule = |path: &str, kind| FaultRule {
        path_prefix: path.into(),
        kind,
        trigger: Trigger::Count(1),
    };
    let status = |status, retry_after| FaultKind::Status {
        status,
        retry_after,
    };
    sim.add_fault(rule(AGGREGATES, status(401, None)));
    sim.add_fault(rule(
        AGGREGATES,
        FaultKind::Late {
            delay: Duration::from_secs(1),
            answer: Box::new(status(429, Some(retry_after.as_secs()))),
        },
    ));
    sim.add_fault(rule(TOKEN, FaultKind::Delay(Duration::from_secs(2))));
    let (first, second) = tokio::join!(ask(&client), ask(&client));
    first.unwrap();
    second.unwrap();
    assert_eq!(sim.tokens_issued(), 2, "the token was renewed once");
    let mut refused = statuses(&sim, AGGREGATES)[1..3].to_vec();
    refused.sort_unstable();
    assert_eq!(refused, [401, 429]);
    assert_no_request_inside_a_pause(&api_requests(&sim), retry_after);
}

/// Every API request the simulator answered, in order.
fn api_requests(sim: &Simulator) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect()
}

/// Fails when an API request reached the simulator inside the pause of a 429: from the
/// moment the 429 was answered until its `Retry-After` had passed.
fn assert_no_request_inside_a_pause(api: &[RecordedRequest], retry_after: Duration) {
    for limited in api.iter().filter(|r| r.status == 429) {
        let inside: Vec<Duration> = api
            .iter()
            .filter(|r| r.at > limited.answered && r.at < limited.answered + retry_after)
            .map(|r| r.at - limited.answered)
            .collect();
        assert!(
            inside.is_empty(),
            "requests {inside:?} into a {retry_after:?} Retry-After"
        );
    }
}

/// Waits until the simulator has answered `count` API requests.
async fn wait_for_requests(sim: &Simulator, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .count()
        < count
    {
        assert!(Instant::now() < deadline, "no API request within a minute");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The most requests in any closed 60-second window starting at one of `times`.
fn busiest_minute(times: &[Instant]) -> usize {
    times
        .iter()
        .map(|first| {
            times
                .iter()
                .filter(|t| **t >= *first && **t <= *first + Duration::from_secs(60))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn debug_output_of_the_client_redacts_the_secret_and_the_token() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    query(&client).await.unwrap();
    let tokens = sim.issued_tokens();
    assert_eq!(tokens.len(), 1);
    // The client now holds both the secret and a cached token.
    let text = format!("{client:?}");
    assert!(
        text.contains("TokenProvider") && text.contains("redacted"),
        "{text}"
    );
    assert!(!text.contains(CLIENT_SECRET), "{text}");
    assert!(!text.contains(&tokens[0]), "{text}");
}
