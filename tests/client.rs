//! The Genesys client against the simulator over real HTTP: tokens, 401, 429, retries,
//! and the API budget.

mod common;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{CLIENT_ID, CLIENT_SECRET, ExporterRun, simulator};
use genesys_cloud_exporter::genesys::auth::{CredentialSource, Credentials, Secret};
use genesys_cloud_exporter::genesys::bodies::AggregateQuery;
use genesys_cloud_exporter::genesys::queues::QueueNames;
use genesys_cloud_exporter::genesys::region::Endpoints;
use genesys_cloud_exporter::genesys::{ApiError, ClientSettings, GenesysClient, RetryPolicy};
use genesys_cloud_exporter::simulator::{
    Fault, FaultKind, FaultRule, PageSizeLimit, Simulator, SimulatorConfig, Trigger,
};
use genesys_cloud_exporter::telemetry::Telemetry;

const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";

fn client(sim: &Simulator, secret: &str) -> (GenesysClient, Arc<Telemetry>) {
    client_with(settings(sim, secret, 300))
}

/// Settings for `sim` with a budget of `budget` requests a minute and quick retries
/// (a `Retry-After` capped at 3 s).
fn settings(sim: &Simulator, secret: &str, budget: u32) -> ClientSettings {
    let base = sim.base_url();
    let endpoints = Endpoints::resolve("us_east_1", Some(&base), Some(&base)).unwrap();
    let credentials = Credentials {
        client_id: CredentialSource::Value(Secret::new(CLIENT_ID)),
        client_secret: CredentialSource::Value(Secret::new(secret)),
    };
    let mut settings =
        ClientSettings::new(endpoints, credentials, NonZeroU32::new(budget).unwrap());
    settings.retry = RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(3),
    };
    settings
}

fn client_with(settings: ClientSettings) -> (GenesysClient, Arc<Telemetry>) {
    let telemetry = Arc::new(Telemetry::new(settings.requests_per_minute.get()));
    (
        GenesysClient::new(settings, Arc::clone(&telemetry)).unwrap(),
        telemetry,
    )
}

async fn query(client: &GenesysClient) -> Result<(), ApiError> {
    let metrics = vec!["nOffered".to_string()];
    let group_by = vec!["queueId".to_string()];
    client
        .query_aggregates(&AggregateQuery {
            interval: "2026-11-25T09:00:00.000Z/2026-11-25T09:30:00.000Z".into(),
            granularity: "PT30M".into(),
            time_zone: "UTC",
            group_by: &group_by,
            metrics: &metrics,
            filter: None,
        })
        .await
        .map(|delivered| assert!(!delivered.value.results.is_empty()))
}

fn statuses(sim: &Simulator, path: &str) -> Vec<u16> {
    sim.requests()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.status)
        .collect()
}

fn encoded(telemetry: &Telemetry) -> String {
    let mut text = String::new();
    telemetry.encode_prometheus_text(&mut text).unwrap();
    text
}

#[tokio::test]
async fn the_token_is_cached_and_renewed_a_minute_before_expiry() {
    // A 61 s token is due for renewal after 1 s (renewal margin 60 s).
    let sim = simulator(SimulatorConfig {
        token_lifetime: Duration::from_secs(61),
        ..SimulatorConfig::default()
    })
    .await;
    let (client, telemetry) = client(&sim, CLIENT_SECRET);
    query(&client).await.unwrap();
    query(&client).await.unwrap();
    assert_eq!(sim.tokens_issued(), 1, "the token is reused while fresh");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    query(&client).await.unwrap();
    assert_eq!(sim.tokens_issued(), 2, "renewed before it expired");
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
    sim.inject_fault(Fault {
        path_prefix: AGGREGATES.into(),
        status: 401,
        retry_after: None,
        count: 5,
    });
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
    let requests: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path == AGGREGATES)
        .collect();
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

#[tokio::test]
async fn an_absurd_retry_after_is_capped() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    sim.inject_fault(Fault {
        path_prefix: AGGREGATES.into(),
        status: 429,
        retry_after: Some(3600),
        count: 1,
    });
    let started = Instant::now();
    query(&client).await.unwrap();
    // Capped at the policy's 3 s, not an hour.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
}

#[tokio::test]
async fn server_errors_are_retried_with_backoff_a_bounded_number_of_times() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    sim.inject_fault(Fault {
        path_prefix: AGGREGATES.into(),
        status: 503,
        retry_after: None,
        count: 2,
    });
    query(&client).await.unwrap();
    assert_eq!(statuses(&sim, AGGREGATES), vec![503, 503, 200]);

    sim.inject_fault(Fault {
        path_prefix: AGGREGATES.into(),
        status: 500,
        retry_after: None,
        count: 10,
    });
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
        sim.inject_fault(Fault {
            path_prefix: AGGREGATES.into(),
            status,
            retry_after: None,
            count: 1,
        });
        let err = query(&client).await.unwrap_err();
        assert!(err.is_permanent(), "{err}");
    }
    assert_eq!(statuses(&sim, AGGREGATES), vec![400, 403]);
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    // Nothing listens on this port once the simulator is gone.
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    query(&client).await.unwrap();
    sim.shutdown().await;
    let err = query(&client).await.unwrap_err();
    assert!(matches!(err, ApiError::Transport { .. }), "{err}");
}

/// The budget holds in every 60-second window, retries and start-up included, while the
/// queries want far more than it allows; polls that waited are counted.
#[tokio::test(flavor = "multi_thread")]
async fn the_request_rate_never_exceeds_the_budget_in_any_minute() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    // Eight queries refreshing every 10 s want 48 requests a minute; the budget is 12.
    let mut config = String::from("queries:\n");
    for i in 0..8 {
        config.push_str(&format!(
            "  - name: q{i}\n    granularity: PT5M\n    settle_delay: 1s\n    refresh: 10s\n    group_by: [mediaType]\n    metrics: [nOffered]\n"
        ));
    }
    let budget = 12;
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

    let api: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect();
    let limited: Vec<Instant> = api
        .iter()
        .filter(|r| r.status == 429)
        .map(|r| r.at)
        .collect();
    assert!(
        limited.len() >= 3,
        "only {} 429s in the storm",
        limited.len()
    );
    for at in &limited {
        let inside: Vec<Duration> = api
            .iter()
            .filter(|r| r.at > *at && r.at < *at + retry_after)
            .map(|r| r.at - *at)
            .collect();
        assert!(
            inside.is_empty(),
            "requests {inside:?} into a {retry_after:?} Retry-After"
        );
    }
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
async fn queue_names_survive_a_failed_refresh() {
    let sim = simulator(SimulatorConfig {
        queue_count: 120,
        ..SimulatorConfig::default()
    })
    .await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    let names = QueueNames::default();
    assert_eq!(names.refresh(&client).await.unwrap(), 120);
    let first = sim.queues()[0].clone();
    assert_eq!(names.current().get(&first.id), Some(&first.name));

    // Every page request fails, retries included: the refresh fails and the names
    // from before stay.
    sim.inject_fault(Fault {
        path_prefix: "/api/v2/routing/queues".into(),
        status: 503,
        retry_after: None,
        count: 100,
    });
    assert!(names.refresh(&client).await.is_err());
    assert_eq!(names.current().len(), 120);
    assert_eq!(names.current().get(&first.id), Some(&first.name));
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

const QUEUES: &str = "/api/v2/routing/queues";

/// An org of `queues` queues whose listing treats page sizes by `limit`, a client for
/// it and queue names not yet read.
async fn queue_org(queues: usize, limit: PageSizeLimit) -> (Simulator, GenesysClient, QueueNames) {
    let sim = simulator(SimulatorConfig {
        queue_count: queues,
        queue_page_limit: limit,
        ..SimulatorConfig::default()
    })
    .await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    (sim, client, QueueNames::default())
}

/// Queue names are read at 500 a page: a 1,200-queue org in 3 requests, not 12.
#[tokio::test]
async fn queue_names_are_read_in_pages_of_500() {
    let (sim, client, names) = queue_org(1_200, PageSizeLimit::default()).await;
    assert_eq!(names.refresh(&client).await.unwrap(), 1_200);
    assert_eq!(statuses(&sim, QUEUES), [200, 200, 200]);
    let last = sim.queues()[1_199].clone();
    assert_eq!(names.current().get(&last.id), Some(&last.name));
}

/// An API that refuses pages over 100 with a 400: the refresh starts again at 100, and
/// later refreshes ask for 100 straight away.
#[tokio::test]
async fn a_refused_page_size_falls_back_to_100_for_good() {
    let (sim, client, names) = queue_org(250, PageSizeLimit::Refuse(100)).await;
    assert_eq!(names.refresh(&client).await.unwrap(), 250);
    assert_eq!(statuses(&sim, QUEUES), [400, 200, 200, 200]);
    assert_eq!(names.refresh(&client).await.unwrap(), 250);
    assert_eq!(statuses(&sim, QUEUES), [400, 200, 200, 200, 200, 200, 200]);
}

/// An API that serves at most 100 a page whatever is asked, and says so in `pageSize`:
/// every queue is read, page by page, at the size it serves.
#[tokio::test]
async fn a_silently_capped_page_size_is_followed() {
    let (sim, client, names) = queue_org(250, PageSizeLimit::Cap(100)).await;
    assert_eq!(names.refresh(&client).await.unwrap(), 250);
    assert_eq!(statuses(&sim, QUEUES), [200, 200, 200]);
    for queue in sim.queues() {
        assert_eq!(names.current().get(&queue.id), Some(&queue.name));
    }
}
