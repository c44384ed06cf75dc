//! Operating the exporter, against the real binary: the names Genesys' own tools use for
//! credentials and region, `--version`, the `healthcheck` subcommand, dual-stack
//! listening, and reloading the config without a restart.

mod common;

use common::{CLIENT_ID, CLIENT_SECRET, ExporterRun, simulator};
use genesys_cloud_exporter::simulator::SimulatorConfig;

/// `GENESYSCLOUD_OAUTHCLIENT_ID`/`_SECRET` and `GENESYSCLOUD_REGION` (dashed) are enough
/// to start it; the log names where each came from, never the values.
#[tokio::test(flavor = "multi_thread")]
async fn genesys_cloud_variable_names_start_it_against_the_simulator() {
    let sim = simulator(SimulatorConfig::default()).await;
    let mut run = ExporterRun::against(&sim);
    run.env = vec![
        ("GENESYSCLOUD_OAUTHCLIENT_ID", CLIENT_ID.into()),
        ("GENESYSCLOUD_OAUTHCLIENT_SECRET", CLIENT_SECRET.into()),
        ("GENESYSCLOUD_REGION", "eu-west-1".into()),
    ];
    let exporter = run.start();
    exporter.wait_ready().await;
    let metrics = exporter.scrape().await;
    // The built-in query and the built-in `live` observation of every queue.
    for query in ["queues", "live"] {
        assert_eq!(
            metrics.value("genesys_exporter_query_up", &[("query", query)]),
            1.0
        );
    }
    let logs = exporter.logs();
    assert!(
        logs.contains("from=GENESYSCLOUD_OAUTHCLIENT_ID")
            && logs.contains("from=GENESYSCLOUD_OAUTHCLIENT_SECRET")
            && logs.contains("region=eu-west-1")
            && logs.contains("from=GENESYSCLOUD_REGION"),
        "{logs}"
    );
    assert!(!logs.contains(CLIENT_SECRET), "{logs}");
}

/// `--version` prints what Prometheus tools print, and `build_info` carries the same.
#[tokio::test(flavor = "multi_thread")]
async fn version_and_build_info_name_revision_date_and_toolchain() {
    let output = std::process::Command::new(common::binary())
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "genesys-cloud-exporter {} (branch: ",
            env!("CARGO_PKG_VERSION")
        )) && first.contains(", revision: "),
        "{text}"
    );
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .map(|rest| rest.trim().to_string())
            .unwrap_or_else(|| panic!("no {name} in {text}"))
    };
    let date = field("build date:");
    assert!(
        date.len() == 17 && date.as_bytes()[8] == b'-' && date.starts_with("20"),
        "{date}"
    );
    let rustc = field("rustc version:");
    assert!(rustc.starts_with("rustc 1."), "{rustc}");
    assert!(!field("platform:").is_empty());

    let exporter = ExporterRun::demo().start();
    let metrics = exporter.scrape().await;
    let info = metrics.find("genesys_exporter_build_info", &[]);
    assert_eq!(info.len(), 1, "{info:?}");
    let labels = &info[0].labels;
    assert_eq!(labels["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        labels["rustversion"],
        rustc.split_whitespace().nth(1).unwrap()
    );
    assert!(
        first.contains(&format!("revision: {})", labels["revision"])),
        "{first}"
    );
    assert!(
        first.contains(&format!("branch: {},", labels["branch"])),
        "{first}"
    );
}

/// A port free on every interface at the time of asking.
fn free_port() -> u16 {
    std::net::TcpListener::bind("[::]:0")
        .or_else(|_| std::net::TcpListener::bind("0.0.0.0:0"))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `:PORT` listens on IPv6 and IPv4 at once: curl reaches it over `[::1]` and over
/// `127.0.0.1`. (This host has an IPv6 loopback; the test says so if it has none.)
#[tokio::test(flavor = "multi_thread")]
async fn port_only_listens_on_ipv6_and_ipv4() {
    let has_ipv6_loopback = std::fs::read_to_string("/proc/net/if_inet6").is_ok_and(|t| {
        t.lines()
            .any(|l| l.starts_with("00000000000000000000000000000001"))
    });
    assert!(
        has_ipv6_loopback,
        "this host has no IPv6 loopback; dual stack cannot be checked here"
    );
    let port = free_port();
    let exporter = ExporterRun::demo()
        .arg("--web.listen-address", format!(":{port}"))
        .start();
    let logs = exporter.logs();
    assert!(logs.contains(&format!("address=[::]:{port}")), "{logs}");
    for url in [
        format!("http://[::1]:{port}/metrics"),
        format!("http://127.0.0.1:{port}/metrics"),
    ] {
        let output = std::process::Command::new("curl")
            .args(["-g", "-sS", "-o", "/dev/null", "-w", "%{http_code}", &url])
            .output()
            .expect("curl runs");
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            "200",
            "{url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Runs `healthcheck` with `args`: its exit code and standard error.
pub fn healthcheck(args: &[&str]) -> (Option<i32>, String) {
    let output = std::process::Command::new(common::binary())
        .arg("healthcheck")
        .args(args)
        .output()
        .expect("healthcheck runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_exits_0_when_healthy_and_1_otherwise() {
    let exporter = ExporterRun::demo().start();
    let (code, stderr) = healthcheck(&["--url", &exporter.url("/-/healthy")]);
    assert_eq!(code, Some(0), "{stderr}");
    // A path that is not 200, and a port nobody listens on.
    let (code, stderr) = healthcheck(&["--url", &exporter.url("/nothing")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    let closed = format!("http://127.0.0.1:{}/-/healthy", free_port());
    let (code, stderr) = healthcheck(&["--url", &closed, "--timeout", "2s"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains(&closed), "{stderr}");
}

/// A query of the config files below: `name` polls `metrics` by queue.
fn query(name: &str, metrics: &str) -> String {
    format!(
        "  - name: {name}\n    granularity: PT30M\n    time_zone: UTC\n    settle_delay: 5s\n    \
         group_by: [queueId]\n    metrics: [{metrics}]\n"
    )
}

fn write_config(path: &std::path::Path, queries: &[String]) {
    // Written whole and renamed, as a config-management tool would.
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, format!("queries:\n{}", queries.concat())).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// How many "poll succeeded" lines the log has for `query`, by the interval polled: a
/// run may cross the completion of the next interval, which is polled then too.
fn successful_polls_by_interval(
    logs: &str,
    query: &str,
) -> std::collections::BTreeMap<String, usize> {
    let mut polls = std::collections::BTreeMap::new();
    for line in logs
        .lines()
        .filter(|l| l.contains("poll succeeded") && l.contains(&format!("query={query} ")))
    {
        let interval = line
            .split_whitespace()
            .find_map(|part| part.strip_prefix("interval="))
            .unwrap_or_else(|| panic!("no interval in {line:?}"));
        *polls.entry(interval.to_string()).or_insert(0) += 1;
    }
    polls
}

/// The query names any sample is labelled with (not the request plan's entry for the
/// name listings).
fn queries_in(metrics: &common::Metrics) -> std::collections::BTreeSet<String> {
    metrics
        .samples
        .iter()
        .filter_map(|s| s.labels.get("query").cloned())
        .filter(|q| q != "(names)")
        .collect()
}

/// Scrapes every 100 ms until `stop`; returns (scrapes, failed scrapes with reasons).
async fn scrape_continuously(
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> (usize, Vec<String>) {
    let client = reqwest::Client::new();
    let mut scrapes = 0;
    let mut failures = Vec::new();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        scrapes += 1;
        match client.get(&url).send().await {
            Ok(response) if response.status() == 200 => match response.text().await {
                Ok(text) if text.contains("genesys_exporter_build_info") => {}
                Ok(text) => failures.push(format!("incomplete body: {}", text.len())),
                Err(err) => failures.push(err.to_string()),
            },
            Ok(response) => failures.push(format!("status {}", response.status())),
            Err(err) => failures.push(err.to_string()),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    (scrapes, failures)
}

/// Waits (up to 60 s) until a scrape satisfies `done`.
async fn wait_for_scrape(
    exporter: &common::Exporter,
    what: &str,
    done: impl Fn(&common::Metrics) -> bool,
) -> common::Metrics {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let metrics = exporter.scrape().await;
        if done(&metrics) {
            return metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never saw {what}; logs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

fn sighup(exporter: &common::Exporter) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &exporter.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Reload by `POST /-/reload` and by SIGHUP while Prometheus-like scrapes run every
/// 100 ms: an unchanged query is not polled again, a changed one restarts, a removed
/// one's series disappear, an added one polls at once; an invalid config is refused
/// whole; a burst of ten SIGHUPs ends in the last config; the web config is re-read too;
/// no scrape fails throughout.
#[tokio::test(flavor = "multi_thread")]
async fn reload_applies_query_changes_without_interrupting_scrapes() {
    let sim = simulator(SimulatorConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("queries.yaml");
    write_config(
        &config,
        &[
            query("kept", "nOffered"),
            query("changed", "nOffered"),
            query("removed", "nOffered"),
        ],
    );
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
    )
    .unwrap();
    let mut run = ExporterRun::against(&sim)
        .arg("--config.file", config.to_string_lossy())
        .arg("--web.config.file", web.to_string_lossy());
    run.args.push("--web.enable-lifecycle".into());
    let exporter = run.start();
    exporter.wait_ready().await;
    wait_for_scrape(&exporter, "the first three queries", |m| {
        queries_in(m).len() == 3
    })
    .await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let scraper = tokio::spawn(scrape_continuously(
        exporter.url("/metrics"),
        std::sync::Arc::clone(&stop),
    ));
    let client = reqwest::Client::new();
    let reload = || client.post(exporter.url("/-/reload")).send();

    // Change one query, remove one, add one; headers change in the web config.
    write_config(
        &config,
        &[
            query("kept", "nOffered"),
            query("changed", "nOffered, nConnected"),
            query("added", "nOffered"),
        ],
    );
    std::fs::write(
        &web,
        "http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n",
    )
    .unwrap();
    let reloaded_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let response = reload().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.unwrap(),
        "Reloaded: 1 unchanged, 1 changed, 1 added, 1 removed (queries and observation sets).\n"
    );
    // The changed query polls again at once (its schedule restarted), the added one
    // polls for the first time.
    let polled_after = |m: &common::Metrics, query: &str, since: f64| {
        m.find(
            "genesys_exporter_query_last_success_timestamp_seconds",
            &[("query", query)],
        )
        .first()
        .is_some_and(|s| s.value >= since)
    };
    let metrics = wait_for_scrape(&exporter, "the added and changed queries polled", |m| {
        polled_after(m, "changed", reloaded_at) && polled_after(m, "added", reloaded_at)
    })
    .await;
    let names = queries_in(&metrics);
    assert!(!names.contains("removed"), "{names:?}");
    assert_eq!(
        metrics.value("genesys_exporter_config_last_reload_successful", &[]),
        1.0
    );
    let landing = client.get(exporter.url("/")).send().await.unwrap();
    assert_eq!(landing.headers()["x-frame-options"], "sameorigin");
    assert!(!landing.text().await.unwrap().contains(">removed<"));

    // Invalid: refused whole, the old config keeps serving.
    std::fs::write(
        &config,
        "queries:\n  - name: broken\n    granularty: PT30M\n    metrics: [nOffered]\n",
    )
    .unwrap();
    let before = metrics.value(
        "genesys_exporter_config_last_reload_success_timestamp_seconds",
        &[],
    );
    let response = reload().await.unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(text.contains("queries.yaml"), "{text}");
    let metrics = exporter.scrape().await;
    assert_eq!(
        metrics.value("genesys_exporter_config_last_reload_successful", &[]),
        0.0
    );
    assert_eq!(
        metrics.value(
            "genesys_exporter_config_last_reload_success_timestamp_seconds",
            &[]
        ),
        before
    );
    assert_eq!(
        queries_in(&metrics),
        ["added", "changed", "kept"].map(String::from).into()
    );
    assert!(
        exporter.logs().contains("config reload failed"),
        "{}",
        exporter.logs()
    );

    // A valid query config with an invalid web config: refused whole too, so the query
    // change does not apply and the headers stay.
    write_config(
        &config,
        &[query("kept", "nOffered"), query("not-applied", "nOffered")],
    );
    std::fs::write(
        &web,
        "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
    )
    .unwrap();
    let response = reload().await.unwrap();
    assert_eq!(response.status(), 400);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("web.yml") && text.contains("X-Frame-Options"),
        "{text}"
    );
    let landing = client.get(exporter.url("/")).send().await.unwrap();
    assert_eq!(landing.headers()["x-frame-options"], "sameorigin");
    assert!(!queries_in(&exporter.scrape().await).contains("not-applied"));
    std::fs::write(
        &web,
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n",
    )
    .unwrap();

    // Ten SIGHUPs within a second, each after a new config: the last one wins.
    for i in 0..10 {
        write_config(
            &config,
            &[
                query("kept", "nOffered"),
                query(&format!("storm{i}"), "nOffered"),
            ],
        );
        sighup(&exporter);
        tokio::time::sleep(std::time::Duration::from_millis(90)).await;
    }
    let metrics = wait_for_scrape(&exporter, "the last config of the storm", |m| {
        let names = queries_in(m);
        names.contains("storm9") && names.len() == 2
    })
    .await;
    assert_eq!(
        metrics.value("genesys_exporter_config_last_reload_successful", &[]),
        1.0
    );

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (scrapes, failures) = scraper.await.unwrap();
    assert!(scrapes >= 10, "{scrapes}");
    assert!(failures.is_empty(), "{failures:?}");
    // The unchanged query was polled once, at start-up, and never again: once per
    // interval (the next one may have completed during the run).
    let polls = successful_polls_by_interval(&exporter.logs(), "kept");
    assert!(
        !polls.is_empty() && polls.values().all(|&count| count == 1),
        "{polls:?}\n{}",
        exporter.logs()
    );
    let mut exporter = exporter;
    assert!(exporter.is_running());
}

/// Without `--web.enable-lifecycle`, `/-/reload` is refused with 403, and SIGHUP still
/// reloads (it used to kill the process).
#[tokio::test(flavor = "multi_thread")]
async fn reload_endpoint_needs_the_lifecycle_flag_and_sighup_does_not_kill() {
    let mut exporter = ExporterRun::demo().start();
    let client = reqwest::Client::new();
    let response = client.post(exporter.url("/-/reload")).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("--web.enable-lifecycle")
    );
    let response = client.get(exporter.url("/-/reload")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    sighup(&exporter);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !exporter.logs().contains("config reloaded") {
        assert!(std::time::Instant::now() < deadline, "{}", exporter.logs());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(exporter.is_running());
    assert_eq!(
        reqwest::get(exporter.url("/-/healthy"))
            .await
            .unwrap()
            .status(),
        200
    );
}
