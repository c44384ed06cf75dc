//! The exporter under every fault the simulator can inject: the real binary over
//! loopback HTTP, scraped continuously while the API misbehaves.
//!
//! What each test holds the exporter to: it keeps running, every scrape is answered,
//! during the fault the last good values stay exported with `query_up` 0 and a frozen
//! `last_success_timestamp`, and afterwards it recovers by itself. The retry delay and
//! the timeouts are set through the exporter's own flags (`--poll.retry-delay`,
//! `--genesys.request-timeout`, ...), so the tests take seconds, not minutes.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Exporter, ExporterRun, Metrics, simulator};
use genesys_cloud_exporter::simulator::{
    FaultKind, FaultRule, RecordedRequest, Simulator, SimulatorConfig, Trigger,
};

const AGGREGATES: &str = "/api/v2/analytics/conversations/aggregates/query";
const TOKEN: &str = "/oauth/token";
const QUERY_NAME: &str = "faults";

/// Polls the same completed interval every 10 s (the shortest refresh allowed), so a
/// fault shows within seconds.
const QUERY: &str = r#"
queries:
  - name: faults
    granularity: PT5M
    time_zone: UTC
    settle_delay: 1s
    refresh: 10s
    group_by: [queueId, mediaType]
    metrics: [nOffered, tHandle]
"#;

/// The exporter against `sim` with `QUERY` and quick retries, plus `extra` flags.
fn exporter(sim: &Simulator, dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> Exporter {
    let mut run = ExporterRun::against(sim)
        .config(dir.path(), QUERY)
        .arg("--poll.retry-delay", "1s");
    for (flag, value) in extra {
        run = run.arg(flag, *value);
    }
    run.start()
}

/// One scrape: when, and what it returned (or why it failed).
#[derive(Clone, Debug)]
struct Scrape {
    at: Instant,
    result: Result<Metrics, String>,
}

/// Scrapes `/metrics` every 100 ms in the background, as an impatient Prometheus would.
struct Scraper {
    scrapes: Arc<Mutex<Vec<Scrape>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Scraper {
    fn start(exporter: &Exporter) -> Scraper {
        let url = exporter.url("/metrics");
        let scrapes = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, stopped) = (Arc::clone(&scrapes), Arc::clone(&stop));
        let task = tokio::spawn(async move {
            let http = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap();
            while !stopped.load(Ordering::Relaxed) {
                let at = Instant::now();
                let result = match http.get(&url).send().await {
                    Ok(response) if response.status() == 200 => response
                        .text()
                        .await
                        .map(|text| Metrics::parse(&text))
                        .map_err(|err| err.to_string()),
                    Ok(response) => Err(format!("HTTP {}", response.status())),
                    Err(err) => Err(err.to_string()),
                };
                sink.lock().unwrap().push(Scrape { at, result });
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Scraper {
            scrapes,
            stop,
            task,
        }
    }

    /// The first scrape from now on that satisfies `wanted`, waiting up to `timeout`.
    async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        exporter: &Exporter,
        wanted: impl Fn(&Metrics) -> bool,
    ) -> Metrics {
        let from = self.scrapes.lock().unwrap().len();
        let deadline = Instant::now() + timeout;
        loop {
            let found = self.scrapes.lock().unwrap()[from..]
                .iter()
                .filter_map(|s| s.result.as_ref().ok())
                .find(|m| wanted(m))
                .cloned();
            if let Some(metrics) = found {
                return metrics;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; logs:\n{}",
                exporter.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops scraping; every scrape so far, and asserts each one was answered.
    async fn finish(self) -> Vec<Scrape> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        let scrapes = self.scrapes.lock().unwrap().clone();
        let failed: Vec<_> = scrapes.iter().filter(|s| s.result.is_err()).collect();
        assert!(failed.is_empty(), "unanswered scrapes: {failed:?}");
        scrapes
    }
}

fn up(m: &Metrics) -> f64 {
    m.value("genesys_exporter_query_up", &[("query", QUERY_NAME)])
}

fn last_success(m: &Metrics) -> Option<f64> {
    m.find(
        "genesys_exporter_query_last_success_timestamp_seconds",
        &[("query", QUERY_NAME)],
    )
    .first()
    .map(|s| s.value)
}

fn counter(m: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
    m.find(name, labels).iter().map(|s| s.value).sum()
}

/// The conversation lines of an exposition, sorted: what the API said.
fn conversation(m: &Metrics) -> Vec<String> {
    let mut lines: Vec<String> = m
        .text
        .lines()
        .filter(|l| l.starts_with("genesys_conversation_"))
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

/// Every scrape shows the query up: no poll failed.
fn assert_always_up(scrapes: &[Scrape]) {
    let down = scrapes
        .iter()
        .filter_map(|s| s.result.as_ref().ok())
        .filter(|m| up(m) != 1.0)
        .count();
    assert_eq!(down, 0, "{down} scrapes saw a failed poll");
}

fn has_data(m: &Metrics) -> bool {
    !m.find("genesys_conversation_offered", &[("query", QUERY_NAME)])
        .is_empty()
}

/// A figure of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`).
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// The most API requests (token requests excluded: they go to the login server and
/// are outside the budget) in any 60-second window.
fn busiest_minute(requests: &[RecordedRequest]) -> usize {
    let api: Vec<Instant> = requests
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| r.at)
        .collect();
    api.iter()
        .map(|first| {
            api.iter()
                .filter(|t| **t >= *first && **t < *first + Duration::from_secs(60))
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Runs the exporter through a fault that `inject` switches on, and that ends by itself
/// (at the latest by the time `inject` returns, or once a counted fault is used up),
/// and checks the promises of every fault: scrapes
/// answered, the last good values kept with `query_up` 0 and a frozen last-success
/// time, then recovery without a restart. Returns the scrapes for further checks.
async fn through_fault(
    sim: &Simulator,
    exporter: &mut Exporter,
    inject: impl FnOnce(&Simulator) -> Instant,
) -> Vec<Scrape> {
    exporter.wait_ready().await;
    let scraper = Scraper::start(exporter);
    scraper
        .wait_for("a good poll", Duration::from_secs(30), exporter, |m| {
            up(m) == 1.0 && has_data(m)
        })
        .await;
    let until = inject(sim);
    let down = scraper
        .wait_for(
            "query_up 0",
            // The next poll is at most a refresh away; its retries take a few seconds.
            until.saturating_duration_since(Instant::now()) + Duration::from_secs(25),
            exporter,
            |m| up(m) == 0.0,
        )
        .await;
    let frozen = last_success(&down).expect("a success before the fault");
    tokio::time::sleep(until.saturating_duration_since(Instant::now())).await;
    scraper
        .wait_for("recovery", Duration::from_secs(40), exporter, |m| {
            up(m) == 1.0 && last_success(m).is_some_and(|t| t > frozen)
        })
        .await;
    let scrapes = scraper.finish().await;
    assert!(exporter.is_running(), "the exporter died");
    assert!(!exporter.logs().contains("panicked"), "{}", exporter.logs());

    let metrics: Vec<&Metrics> = scrapes
        .iter()
        .filter_map(|s| s.result.as_ref().ok())
        .collect();
    let first_down = metrics.iter().position(|m| up(m) == 0.0).unwrap();
    let recovered = first_down
        + metrics[first_down..]
            .iter()
            .position(|m| up(m) == 1.0)
            .unwrap();
    // The values of the last good poll, as a scrape saw them before the fault.
    let last_good = metrics[..first_down]
        .iter()
        .rev()
        .find(|m| last_success(m) == Some(frozen))
        .expect("a scrape of the last good poll");
    let kept = conversation(last_good);
    assert!(!kept.is_empty());
    for during in &metrics[first_down..recovered] {
        assert_eq!(up(during), 0.0);
        assert_eq!(last_success(during), Some(frozen), "last success moved");
        assert_eq!(conversation(during), kept, "the last good values changed");
    }
    assert!(
        recovered - first_down >= 5,
        "only {} scrapes during the fault",
        recovered - first_down
    );
    scrapes
}

fn rule(path: &str, kind: FaultKind, trigger: Trigger) -> FaultRule {
    FaultRule {
        path_prefix: path.into(),
        kind,
        trigger,
    }
}

/// Runs [`through_fault`] with `kind` on the next `attempts` aggregates requests; gives
/// back the simulator and the exporter for checks of their own.
async fn survives_aggregates_fault(
    kind: FaultKind,
    attempts: u32,
    extra: &[(&str, &str)],
) -> (Simulator, Exporter) {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut exporter = exporter(&sim, &dir, extra);
    through_fault(&sim, &mut exporter, |sim| {
        sim.add_fault(rule(AGGREGATES, kind, Trigger::Count(attempts)));
        Instant::now()
    })
    .await;
    (sim, exporter)
}

/// When the client retries the fault: one poll's four attempts fail, and the next
/// poll's first two, so `query_up` stays 0 for a few seconds.
const RETRIED_FAULT: u32 = 6;
/// When the fault fails a poll at its first answer (a bad body is not retried at once;
/// the poll is, after `--poll.retry-delay`): two polls fail.
const QUICK_FAULT: u32 = 2;

#[tokio::test(flavor = "multi_thread")]
async fn server_errors_500_502_503_504_keep_the_last_values_until_recovery() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut exporter = exporter(&sim, &dir, &[]);
    // A poll's four attempts meet the four statuses in turn; the next poll two more.
    through_fault(&sim, &mut exporter, |sim| {
        for status in [500u16, 502, 503, 504, 500, 502] {
            sim.add_fault(rule(
                AGGREGATES,
                FaultKind::Status {
                    status,
                    retry_after: None,
                },
                Trigger::Count(1),
            ));
        }
        Instant::now()
    })
    .await;
    let seen: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.path == AGGREGATES)
        .map(|r| r.status)
        .collect();
    for status in [500, 502, 503, 504] {
        assert!(seen.contains(&status), "no {status} in {seen:?}");
    }
    assert!(exporter.logs().contains("retrying"), "{}", exporter.logs());
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_slower_than_the_request_timeout_are_cut_off() {
    // Each attempt gives up after 2 s.
    let (_sim, exporter) = survives_aggregates_fault(
        FaultKind::Delay(Duration::from_secs(8)),
        RETRIED_FAULT,
        &[("--genesys.request-timeout", "2s")],
    )
    .await;
    let metrics = exporter.scrape().await;
    assert!(
        aggregates_requests(&metrics, "timeout") >= 4.0,
        "{}",
        metrics.text
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_reset_mid_body_is_a_failed_attempt() {
    let (_sim, exporter) =
        survives_aggregates_fault(FaultKind::ResetMidBody, RETRIED_FAULT, &[]).await;
    let metrics = exporter.scrape().await;
    assert!(
        aggregates_requests(&metrics, "error") >= 4.0,
        "{}",
        metrics.text
    );
}

/// A body the client cannot read fails the poll with a message that says so.
async fn a_bad_body_fails_polls_not_the_exporter(kind: FaultKind) {
    let (_sim, exporter) = survives_aggregates_fault(kind, QUICK_FAULT, &[]).await;
    let logs = exporter.logs();
    assert!(logs.contains("not the documented JSON"), "{logs}");
}

/// Aggregates requests the exporter counted with `code`.
fn aggregates_requests(metrics: &Metrics, code: &str) -> f64 {
    counter(
        metrics,
        "genesys_exporter_api_requests_total",
        &[("endpoint", "aggregates"), ("code", code)],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_json_fails_the_poll_not_the_exporter() {
    a_bad_body_fails_polls_not_the_exporter(FaultKind::TruncatedJson).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_json_fails_the_poll_not_the_exporter() {
    a_bad_body_fails_polls_not_the_exporter(FaultKind::MalformedJson).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_of_the_wrong_shape_fails_the_poll_not_the_exporter() {
    a_bad_body_fails_polls_not_the_exporter(FaultKind::WrongShape).await;
}

/// 400 MB of JSON against an 8 MiB limit: refused while it streams in, and the
/// exporter's peak memory stays far below the body's size.
#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_size_limit_is_refused_without_reading_it_whole() {
    const BODY: u64 = 400 << 20;
    let (sim, mut exporter) = survives_aggregates_fault(
        FaultKind::HugeBody { bytes: BODY },
        QUICK_FAULT,
        &[("--genesys.max-response-size", "8MiB")],
    )
    .await;
    let logs = exporter.logs();
    assert!(logs.contains("8388608 byte limit"), "{logs}");
    let peak_kib = proc_status_kib(exporter.pid(), "VmHWM");
    assert!(
        peak_kib * 1024 < BODY / 4,
        "peak RSS {peak_kib} KiB for a {BODY} byte body"
    );
    assert!(exporter.is_running());
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.path == AGGREGATES && r.status == 200),
        "the huge body was served"
    );
}

/// The token endpoint goes down just as every token is revoked: polls fail (a 401,
/// then no new token), and once login works again the exporter gets a token and
/// recovers on its own.
#[tokio::test(flavor = "multi_thread")]
async fn the_token_endpoint_down_while_tokens_are_revoked() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut exporter = exporter(&sim, &dir, &[]);
    let length = Duration::from_secs(12);
    through_fault(&sim, &mut exporter, |sim| {
        sim.add_fault(rule(
            TOKEN,
            FaultKind::Status {
                status: 503,
                retry_after: None,
            },
            Trigger::for_next(length),
        ));
        sim.revoke_tokens();
        Instant::now() + length
    })
    .await;
    let token_statuses: Vec<u16> = sim
        .requests()
        .iter()
        .filter(|r| r.path == TOKEN)
        .map(|r| r.status)
        .collect();
    assert!(token_statuses.contains(&503), "{token_statuses:?}");
    assert_eq!(token_statuses.last(), Some(&200), "{token_statuses:?}");
    assert!(sim.tokens_issued() >= 2);
}

/// A token revoked before it expires costs one 401 and a new token, not a failed poll.
#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_is_replaced_without_a_failed_poll() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(&sim, &dir, &[]);
    exporter.wait_ready().await;
    let scraper = Scraper::start(&exporter);
    let before = scraper
        .wait_for("a good poll", Duration::from_secs(30), &exporter, |m| {
            up(m) == 1.0
        })
        .await;
    let frozen = last_success(&before).unwrap();
    sim.revoke_tokens();
    scraper
        .wait_for(
            "a poll with a new token",
            Duration::from_secs(20),
            &exporter,
            |m| last_success(m).is_some_and(|t| t > frozen),
        )
        .await;
    assert_always_up(&scraper.finish().await);
    assert_eq!(sim.tokens_issued(), 2);
    let unauthorized = sim.requests().iter().filter(|r| r.status == 401).count();
    assert_eq!(unauthorized, 1);
}

/// A 429 storm: every API call answered 429 for over a minute, first with
/// `Retry-After: 2`, then with no hint at all. The exporter spends at most its budget
/// in every 60-second window, retries included; waits out each `Retry-After` (every
/// caller, not just the one that got it); without a hint backs off for at least its
/// first backoff step; and recovers when the storm ends.
#[tokio::test(flavor = "multi_thread")]
async fn a_429_storm_stays_within_the_budget_and_respects_retry_after() {
    const BUDGET: usize = 20;
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut exporter = exporter(
        &sim,
        &dir,
        &[("--genesys.requests-per-minute", &BUDGET.to_string())],
    );
    let with_hint = Duration::from_secs(35);
    let without_hint = Duration::from_secs(30);
    let storm = Arc::new(Mutex::new(None));
    let started = Arc::clone(&storm);
    through_fault(&sim, &mut exporter, move |sim| {
        let start = Instant::now();
        *started.lock().unwrap() = Some(start);
        sim.add_fault(rule(
            "/api/",
            FaultKind::Status {
                status: 429,
                retry_after: Some(2),
            },
            Trigger::Window {
                start,
                length: with_hint,
            },
        ));
        sim.add_fault(rule(
            "/api/",
            FaultKind::Status {
                status: 429,
                retry_after: None,
            },
            Trigger::Window {
                start: start + with_hint,
                length: without_hint,
            },
        ));
        start + with_hint + without_hint
    })
    .await;
    let start = storm.lock().unwrap().unwrap();
    let requests = sim.requests();
    let busiest = busiest_minute(&requests);
    assert!(
        busiest <= BUDGET,
        "{busiest} API requests in one minute, budget {BUDGET}"
    );
    let api: Vec<&RecordedRequest> = requests
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect();
    let (mut hinted, mut unhinted) = (0, 0);
    for pair in api.windows(2) {
        let (answered, next) = (pair[0], pair[1]);
        if answered.status != 429 {
            continue;
        }
        let gap = next.at - answered.at;
        if answered.at < start + with_hint {
            hinted += 1;
            assert!(
                gap >= Duration::from_millis(1990),
                "{gap:?} after a Retry-After: 2"
            );
        } else {
            unhinted += 1;
            // The first backoff step (1 s), without jitter: a pause for everyone.
            assert!(
                gap >= Duration::from_millis(990),
                "{gap:?} after a bare 429"
            );
        }
    }
    assert!(hinted >= 5 && unhinted >= 5, "{hinted} and {unhinted} 429s");
    let metrics = exporter.scrape().await;
    assert!(counter(&metrics, "genesys_exporter_polls_delayed_total", &[]) > 0.0);
}

/// A `Retry-After` of an hour (over the 180 s worth retrying) is honoured: the poll fails
/// at once with query up 0 and the landing page naming the wait, the log says so once,
/// no API call is made meanwhile, and scrapes are answered.
#[tokio::test(flavor = "multi_thread")]
async fn a_retry_after_of_an_hour_is_honoured_failing_the_poll_at_once() {
    const HELD: &str = "holding every API call for all of it";
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = exporter(&sim, &dir, &[]);
    exporter.wait_ready().await;
    let scraper = Scraper::start(&exporter);
    sim.add_fault(rule(
        AGGREGATES,
        FaultKind::Status {
            status: 429,
            retry_after: Some(3600),
        },
        Trigger::Count(1),
    ));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !exporter.logs().contains(HELD) {
        assert!(Instant::now() < deadline, "{}", exporter.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let logs = exporter.logs();
    let line = logs.lines().find(|l| l.contains(HELD)).unwrap().to_string();
    assert!(line.contains("wait_seconds=3600"), "{line}");
    // The poll failed at once, and says for how long everything is held.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if up(&exporter.scrape().await) == 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "query up never went to 0");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = exporter.page("/").await;
    assert!(
        page.contains("Retry-After 3600 s") && page.contains("held until"),
        "{page}"
    );
    // Well past a refresh and a poll retry: the hold keeps every call back, and the
    // queries waiting behind it do not log it again.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let requests = sim.requests();
    let limited = requests.iter().position(|r| r.status == 429).unwrap();
    let after: Vec<_> = requests[limited + 1..]
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect();
    assert!(after.is_empty(), "API calls during the hold: {after:?}");
    assert_eq!(
        exporter.logs().matches(HELD).count(),
        1,
        "{}",
        exporter.logs()
    );
    let scrapes = scraper.finish().await;
    assert!(scrapes.len() >= 50, "{} scrapes", scrapes.len());
}

/// An API host that never completes the TCP handshake: each attempt gives up at the
/// connect timeout (1 s here), far sooner than the 60 s request timeout, and the poll
/// fails after its retries while scrapes are answered.
#[tokio::test(flavor = "multi_thread")]
async fn the_connect_timeout_applies_to_a_host_that_never_answers() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (blackhole, _held) = blackhole().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        QUERY.replace("[queueId, mediaType]", "[mediaType]"),
    )
    .unwrap();
    let started = Instant::now();
    let exporter = ExporterRun {
        args: [
            "--genesys.api-url",
            &format!("http://{blackhole}"),
            "--genesys.login-url",
            &sim.base_url(),
            "--genesys.connect-timeout",
            "1s",
            "--config.file",
            &config.to_string_lossy(),
        ]
        .map(String::from)
        .to_vec(),
        env: vec![
            ("GENESYS_CLIENT_ID", common::CLIENT_ID.into()),
            ("GENESYS_CLIENT_SECRET", common::CLIENT_SECRET.into()),
        ],
    }
    .start();
    exporter.wait_ready().await;
    let failed_after = started.elapsed();
    // Four attempts of 1 s and up to 7 s of backoff; one attempt at the request
    // timeout alone would be 60 s.
    assert!(failed_after < Duration::from_secs(25), "{failed_after:?}");
    let metrics = exporter.scrape().await;
    assert_eq!(up(&metrics), 0.0);
    let attempts = counter(
        &metrics,
        "genesys_exporter_api_request_duration_seconds_count",
        &[("endpoint", "aggregates")],
    );
    let seconds = counter(
        &metrics,
        "genesys_exporter_api_request_duration_seconds_sum",
        &[("endpoint", "aggregates")],
    );
    assert_eq!(attempts, 4.0, "{}", metrics.text);
    assert!(
        seconds / attempts < 2.0,
        "{seconds} s for {attempts} attempts"
    );
    assert!(
        exporter.logs().contains("poll failed"),
        "{}",
        exporter.logs()
    );
}

/// A loopback address whose listen queue is full, so a new connection never completes
/// its handshake (the kernel drops the SYN); the connections filling it are returned
/// to be held open.
async fn blackhole() -> (std::net::SocketAddr, Vec<tokio::net::TcpStream>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let listener = socket.listen(1).unwrap();
    let address = listener.local_addr().unwrap();
    let mut held = Vec::new();
    loop {
        let attempt = tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(address),
        )
        .await;
        match attempt {
            Ok(Ok(stream)) => held.push(stream),
            Ok(Err(err)) => panic!("cannot fill the listen queue: {err}"),
            Err(_) => break,
        }
        assert!(held.len() < 64, "the listen queue never filled");
    }
    // The listener must outlive the test, or the port would refuse at once.
    std::mem::forget(listener);
    (address, held)
}

/// Clock skew between this host and Genesys: the exporter measures it from `Date`,
/// exports it, and picks the latest interval completed by Genesys' clock, whichever
/// way the clocks differ. (By this host's clock, a Genesys 7 minutes behind would be
/// asked for an interval it is still filling.)
#[tokio::test(flavor = "multi_thread")]
async fn intervals_are_chosen_by_the_apis_clock_under_skew() {
    const SETTLE: i64 = 5;
    let config = "queries:\n  - name: faults\n    granularity: PT5M\n    settle_delay: 5s\n    group_by: [queueId]\n    metrics: [nOffered]\n";
    for skew_minutes in [-7i64, 7] {
        let skew = chrono::TimeDelta::minutes(skew_minutes);
        let sim = simulator(SimulatorConfig::default()).await;
        sim.set_clock_skew(skew);
        let dir = tempfile::tempdir().unwrap();
        let api_before = chrono::Utc::now() + skew;
        let exporter = ExporterRun::against(&sim)
            .config(dir.path(), config)
            .start();
        exporter.wait_ready().await;
        let metrics = exporter.scrape().await;
        let api_after = chrono::Utc::now() + skew;
        let end = metrics.value(
            "genesys_conversation_interval_end_timestamp_seconds",
            &[("query", QUERY_NAME)],
        ) as i64;
        // Completed by Genesys' clock...
        assert!(
            end + SETTLE <= api_after.timestamp(),
            "skew {skew_minutes} min: interval ending {end} is not complete at {api_after}"
        );
        // ...and the latest that was.
        assert!(
            end + 300 + SETTLE > api_before.timestamp() - 1,
            "skew {skew_minutes} min: interval ending {end} is not the latest at {api_before}"
        );
        let measured = metrics.value("genesys_exporter_api_clock_skew_seconds", &[]);
        assert!(
            (measured - skew.num_seconds() as f64).abs() <= 2.0,
            "measured {measured} s for {skew_minutes} min"
        );
        assert!(
            exporter.logs().contains("differs from this host clock"),
            "{}",
            exporter.logs()
        );
    }
}

/// Unknown fields, missing stats, a group without one of its keys, a null, a negative
/// count and a bare NaN in one answer: the poll succeeds, each unusable stat is skipped
/// and counted, and the rest is exported.
#[tokio::test(flavor = "multi_thread")]
async fn odd_values_are_skipped_and_counted_without_failing_the_poll() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::against(&sim)
        // Yesterday: a whole day of traffic, plenty of groups to distort.
        .config(dir.path(), &QUERY.replace("PT5M", "P1D"))
        .start();
    exporter.wait_ready().await;
    let first = exporter.scrape().await;
    let frozen = last_success(&first).unwrap();
    let labels = [("query", QUERY_NAME)];
    let start = first.value(
        "genesys_conversation_interval_start_timestamp_seconds",
        &labels,
    );
    let end = first.value(
        "genesys_conversation_interval_end_timestamp_seconds",
        &labels,
    );
    let iso = |t: f64| {
        chrono::DateTime::from_timestamp(t as i64, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string()
    };
    // The same answer the exporter will get, before the fault distorts it.
    let api = common::aggregates(
        &sim,
        &serde_json::json!({"interval": format!("{}/{}", iso(start), iso(end)),
            "granularity": "P1D", "timeZone": "UTC", "groupBy": ["queueId", "mediaType"],
            "metrics": ["nOffered", "tHandle"]}),
    )
    .await;
    let results = api["results"].as_array().map_or(0, Vec::len);
    assert!(results >= 5, "too little traffic to distort: {api}");

    let scraper = Scraper::start(&exporter);
    sim.add_fault(rule(AGGREGATES, FaultKind::OddValues, Trigger::Count(1)));
    let after = scraper
        .wait_for("the next poll", Duration::from_secs(30), &exporter, |m| {
            last_success(m).is_some_and(|t| t > frozen)
        })
        .await;
    assert_always_up(&scraper.finish().await);
    // Results 1 to 4 each hold an unusable stat (see FaultKind::OddValues); the stat
    // that is null and the bare NaN are counted in any case (the missing stats and the
    // negative count too when the mapping refuses them).
    let warnings = after.value("genesys_exporter_response_warnings_total", &labels);
    assert!(warnings >= 2.0, "{warnings} warnings\n{}", exporter.logs());
    // Result 0 lost its queueId: exported with an empty label, not dropped.
    assert!(
        !after
            .find("genesys_conversation_offered", &[("queue_id", "")])
            .is_empty(),
        "{}",
        after.text
    );
    assert!(exporter.logs().contains("bare NaN"), "{}", exporter.logs());
}

/// Four queries refreshing every 10 s: enough traffic for every fault to meet requests.
const SOAK_QUERIES: &str = r#"
queries:
  - {name: faults, granularity: PT5M, settle_delay: 1s, refresh: 10s, group_by: [queueId, mediaType], metrics: [nOffered, tHandle, oServiceLevel]}
  - {name: by_direction, granularity: PT5M, settle_delay: 1s, refresh: 10s, group_by: [queueId, direction], metrics: [nOffered, tAnswered]}
  - {name: by_media, granularity: PT15M, settle_delay: 1s, refresh: 10s, group_by: [mediaType], metrics: [nConnected, tTalk, tAbandon]}
  - {name: daily, granularity: P1D, settle_delay: 1s, refresh: 10s, group_by: [queueId], metrics: [nOffered, tHandle]}
"#;

const SOAK_NAMES: [&str; 4] = ["faults", "by_direction", "by_media", "daily"];

/// The soak test: the exporter for a bounded time (`GENESYS_SOAK_SECONDS`, default 90)
/// with four queries, under a fault that changes every 4 s, rotating through every
/// kind (half the matching requests meet it; a huge body and the token endpoint down
/// once a round), on top of a steady 10 % of 503s, scraped every 100 ms. No panic,
/// every scrape answered, the budget kept in every minute, recovery at the end, and
/// memory flat: VmRSS at the end at most 25 % + 8 MiB above VmRSS after the warm-up.
/// The warm-up is one whole rotation (at least a fifth of the run), so buffers that a
/// fault needs once (a refused huge body fills one up to the size limit) are in the
/// baseline.
#[tokio::test(flavor = "multi_thread")]
async fn soak_with_rotating_faults_keeps_memory_flat() {
    const BUDGET: usize = 60;
    let seconds: u64 = std::env::var("GENESYS_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(90);
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut exporter = ExporterRun::against(&sim)
        .config(dir.path(), SOAK_QUERIES)
        .arg("--poll.retry-delay", "1s")
        .arg("--genesys.requests-per-minute", BUDGET.to_string())
        .arg("--genesys.request-timeout", "2s")
        .arg("--genesys.max-response-size", "8MiB")
        .start();
    exporter.wait_ready().await;
    let pid = exporter.pid();
    let scraper = Scraper::start(&exporter);
    let status = |status: u16, retry_after: Option<u64>| FaultKind::Status {
        status,
        retry_after,
    };
    let half = Trigger::Rate(0.5);
    let rotation: Vec<(&str, FaultKind, Trigger)> = vec![
        (
            AGGREGATES,
            FaultKind::HugeBody { bytes: 64 << 20 },
            Trigger::Count(1),
        ),
        (AGGREGATES, status(503, None), half.clone()),
        ("/api/", status(429, Some(1)), half.clone()),
        (
            AGGREGATES,
            FaultKind::Delay(Duration::from_secs(3)),
            half.clone(),
        ),
        (AGGREGATES, FaultKind::ResetMidBody, half.clone()),
        (AGGREGATES, FaultKind::TruncatedJson, half.clone()),
        (AGGREGATES, status(502, None), half.clone()),
        (AGGREGATES, FaultKind::MalformedJson, half.clone()),
        (AGGREGATES, FaultKind::WrongShape, half.clone()),
        (AGGREGATES, FaultKind::OddValues, half.clone()),
        (TOKEN, status(503, None), Trigger::Count(2)),
        ("/api/", status(429, None), half.clone()),
    ];
    let background = rule(AGGREGATES, status(503, None), Trigger::Rate(0.1));
    let started = Instant::now();
    let phase_length = Duration::from_secs(4);
    let warm_up = (phase_length * rotation.len() as u32).max(Duration::from_secs(seconds / 5));
    let mut warm_rss = None;
    let mut phase = 0;
    while started.elapsed() < Duration::from_secs(seconds) {
        let (path, kind, trigger) = rotation[phase % rotation.len()].clone();
        sim.clear_faults();
        sim.add_fault(background.clone());
        if path == TOKEN {
            sim.revoke_tokens();
        }
        sim.add_fault(rule(path, kind, trigger));
        phase += 1;
        tokio::time::sleep(phase_length).await;
        if warm_rss.is_none() && started.elapsed() >= warm_up {
            warm_rss = Some(proc_status_kib(pid, "VmRSS"));
        }
    }
    let end_rss = proc_status_kib(pid, "VmRSS");
    let peak = proc_status_kib(pid, "VmHWM");
    sim.clear_faults();
    let ended = chrono::Utc::now().timestamp() as f64;
    scraper
        .wait_for("recovery", Duration::from_secs(90), &exporter, |m| {
            SOAK_NAMES
                .iter()
                .all(|q| m.value("genesys_exporter_query_up", &[("query", q)]) == 1.0)
                && last_success(m).is_some_and(|t| t >= ended)
        })
        .await;
    let scrapes = scraper.finish().await;
    assert!(exporter.is_running(), "the exporter died");
    assert!(!exporter.logs().contains("panicked"), "{}", exporter.logs());
    let slowest_gap = scrapes
        .windows(2)
        .map(|pair| pair[1].at - pair[0].at)
        .max()
        .unwrap_or_default();
    let requests = sim.requests();
    let busiest = busiest_minute(&requests);
    let warm_rss = warm_rss.expect("the soak outlasts its warm-up");
    eprintln!(
        "soak: {seconds} s, {phase} fault phases, {} scrapes (longest gap {slowest_gap:?}), \
         {} requests, busiest minute {busiest} of {BUDGET}, VmRSS {warm_rss} KiB after \
         warm-up, {end_rss} KiB at the end, VmHWM {peak} KiB",
        scrapes.len(),
        requests.len()
    );
    assert!(busiest <= BUDGET, "{busiest} API requests in one minute");
    assert!(
        end_rss <= warm_rss + warm_rss / 4 + 8 * 1024,
        "VmRSS grew from {warm_rss} KiB to {end_rss} KiB"
    );
    assert!(phase > rotation.len(), "only {phase} fault phases");
}

/// `simulate --fault ... --clock-skew ...` switches faults on for manual runs.
#[tokio::test(flavor = "multi_thread")]
async fn the_simulate_subcommand_takes_faults_and_clock_skew() {
    let (mut child, base) = common::simulate_subcommand(&[
        "--fault",
        "aggregates:503:count=1",
        "--fault",
        "queues:wrong-shape",
        "--clock-skew",
        "-5m",
    ]);
    let token = common::token_at(&base, "demo-client", "demo-secret").await;
    let http = reqwest::Client::new();
    let query = serde_json::json!({"interval": "2026-11-25T09:00:00.000Z/2026-11-25T09:30:00.000Z",
        "metrics": ["nOffered"]});
    let mut statuses = Vec::new();
    for _ in 0..2 {
        let response = http
            .post(format!("{base}{AGGREGATES}"))
            .bearer_auth(&token)
            .json(&query)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == 200 {
            let date = response.headers()["date"].to_str().unwrap().to_string();
            let date = chrono::DateTime::parse_from_rfc2822(&date).unwrap();
            let behind = chrono::Utc::now() - date.with_timezone(&chrono::Utc);
            assert!(
                (behind.num_seconds() - 300).abs() <= 2,
                "Date is {behind} behind"
            );
        }
    }
    assert_eq!(statuses, [503, 200]);
    let queues = http
        .get(format!("{base}/api/v2/routing/queues"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(queues.starts_with("[{\"unexpected\""), "{queues}");
    let _ = child.kill();
    let _ = child.wait();
}
