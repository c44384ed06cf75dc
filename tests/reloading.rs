//! Reloading observation sets, names and budgets: what a reload does beyond the queries
//! of `tests/operating.rs`. Each test runs the exporter binary against the simulator and
//! reloads it by `POST /-/reload`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Exporter, ExporterRun, Metrics, simulator};
use genesys_cloud_exporter::simulator::{
    FaultKind, FaultRule, Simulator, SimulatorConfig, Trigger,
};

/// A query polling `metrics` by queue, in 30-minute buckets, and more (`extra`: `, key:
/// value` pairs).
fn query(name: &str, metrics: &str, extra: &str) -> String {
    format!(
        "  - {{name: {name}, granularity: PT30M, settle_delay: 5s, group_by: [queueId], \
         metrics: [{metrics}]{extra}}}\n"
    )
}

/// An observation set of every queue, every 10 s.
fn observed(name: &str, metrics: &str) -> String {
    format!("  - {{name: {name}, refresh: 10s, metrics: [{metrics}]}}\n")
}

/// Writes the config whole and renames it into place, as a config-management tool would.
fn write_config(path: &Path, queries: &[String], observations: &[String]) {
    let mut text = String::new();
    if !queries.is_empty() {
        text.push_str(&format!("queries:\n{}", queries.concat()));
    }
    if !observations.is_empty() {
        text.push_str(&format!("observations:\n{}", observations.concat()));
    }
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, text).unwrap();
    std::fs::rename(&temporary, path).unwrap();
}

/// A simulator and the exporter against it, on a config file it reloads.
struct Running {
    sim: Simulator,
    config: PathBuf,
    exporter: Exporter,
    _dir: tempfile::TempDir,
}

/// The exporter on a config of `queries` and `observations`, with `/-/reload` enabled
/// and more `flags`.
async fn running(queries: &[String], observations: &[String], flags: &[(&str, &str)]) -> Running {
    let sim = simulator(SimulatorConfig::default()).await;
    running_against(sim, queries, observations, flags)
}

/// As [`running`], against `sim` (set up with faults from the start, say).
fn running_against(
    sim: Simulator,
    queries: &[String],
    observations: &[String],
    flags: &[(&str, &str)],
) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    write_config(&config, queries, observations);
    let mut run = ExporterRun::against(&sim).arg("--config.file", config.to_string_lossy());
    for (flag, value) in flags {
        run = run.arg(flag, *value);
    }
    run.args.push("--web.enable-lifecycle".into());
    let exporter = run.start();
    Running {
        sim,
        config,
        exporter,
        _dir: dir,
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

impl Running {
    /// Writes a config of `queries` and `observations` and reloads it: status and body.
    async fn reload_to(&self, queries: &[String], observations: &[String]) -> (u16, String) {
        write_config(&self.config, queries, observations);
        reload(&self.exporter).await
    }
}

/// `POST /-/reload`: status and body. The client gives up after 10 s: with nothing to
/// wait for, a reload answers in milliseconds.
async fn reload(exporter: &Exporter) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let response = client
        .post(exporter.url("/-/reload"))
        .send()
        .await
        .unwrap_or_else(|err| panic!("no answer to /-/reload: {err}; logs:\n{}", exporter.logs()));
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Waits (up to 90 s) until a scrape satisfies `done`.
async fn wait_for_scrape(
    exporter: &Exporter,
    what: &str,
    done: impl Fn(&Metrics) -> bool,
) -> Metrics {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let metrics = exporter.scrape().await;
        if done(&metrics) {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "never saw {what}; logs:\n{}",
            exporter.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `query` labels of the samples whose name starts with `prefix`.
fn queries_of(metrics: &Metrics, prefix: &str) -> BTreeSet<String> {
    metrics
        .samples
        .iter()
        .filter(|s| s.name.starts_with(prefix))
        .filter_map(|s| s.labels.get("query").cloned())
        .filter(|q| q != "(names)")
        .collect()
}

/// Whether `query` last succeeded at or after `since`.
fn polled_since(metrics: &Metrics, query: &str, since: f64) -> bool {
    metrics
        .find(
            "genesys_exporter_query_last_success_timestamp_seconds",
            &[("query", query)],
        )
        .first()
        .is_some_and(|s| s.value >= since)
}

/// Observation sets reload as queries do: an unchanged one keeps running, a changed one
/// restarts with its new metrics, a removed one's series and self-metrics go, an added
/// one starts; before, a reload warned that they took a restart and left them as they
/// were.
///
/// The unchanged set `stays` refreshes every 10 minutes, so it polls once in this test,
/// at start-up: had the reload restarted it, it would have polled again at once, beside
/// the changed and added sets, and its last success would have moved.
#[tokio::test(flavor = "multi_thread")]
async fn observation_sets_are_added_changed_and_removed_by_a_reload() {
    let stays = "  - {name: stays, refresh: 10m, metrics: [oWaiting]}\n".to_string();
    let run = running(
        &[query("kept", "nOffered", "")],
        &[
            stays.clone(),
            observed("changes", "oWaiting"),
            observed("goes", "oWaiting"),
        ],
        &[],
    )
    .await;
    run.exporter.wait_ready().await;
    let last_success = |metrics: &Metrics| {
        metrics.value(
            "genesys_exporter_query_last_success_timestamp_seconds",
            &[("query", "stays")],
        )
    };
    let stays_polled_at = last_success(&run.exporter.scrape().await);
    let reloaded_at = now();
    let (status, text) = run
        .reload_to(
            &[query("kept", "nOffered", "")],
            &[
                stays,
                observed("changes", "oWaiting, oInteracting"),
                observed("arrives", "oWaiting"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        text,
        "Reloaded: 2 unchanged, 1 changed, 1 added, 1 removed (queries and observation sets).\n"
    );
    let metrics = wait_for_scrape(&run.exporter, "the changed and added sets refreshed", |m| {
        polled_since(m, "changes", reloaded_at)
            && polled_since(m, "arrives", reloaded_at)
            && !m
                .find("genesys_queue_interacting", &[("query", "changes")])
                .is_empty()
    })
    .await;
    assert_eq!(
        queries_of(&metrics, "genesys_queue_"),
        ["arrives", "changes", "stays"].map(String::from).into()
    );
    assert!(
        !queries_of(&metrics, "genesys_exporter_").contains("goes"),
        "the removed set's self-metrics stay"
    );
    assert_eq!(
        last_success(&metrics),
        stays_polled_at,
        "the unchanged set was restarted"
    );
}

/// Renaming the observation set `live` to `now` and adding a query `live` leaves one
/// entry named `live`: the query. (The set used to keep running beside the query, both
/// publishing under `query="live"` and sharing its `query_up`.) The set's self-metrics
/// go with it: until the query first polls (held back here by a slow wrap-up code
/// listing it waits for), `query_up{query="live"}` is 0 and it has no last success
/// (they used to stay the set's, 1 and its time). A file in which a query and an
/// observation set share a name is refused, naming both.
#[tokio::test(flavor = "multi_thread")]
async fn a_name_is_never_served_by_two_entries() {
    let run = running(
        &[query("kept", "nOffered", "")],
        &[observed("live", "oWaiting")],
        &[],
    )
    .await;
    run.exporter.wait_ready().await;
    let before = run.exporter.scrape().await;
    assert_eq!(
        before.value("genesys_exporter_query_up", &[("query", "live")]),
        1.0
    );
    run.sim.add_fault(FaultRule {
        path_prefix: "/api/v2/routing/wrapupcodes".into(),
        kind: FaultKind::Delay(Duration::from_secs(10)),
        trigger: Trigger::Count(1),
    });
    let live = "  - {name: live, granularity: PT30M, settle_delay: 5s, group_by: [wrapUpCode], \
                metrics: [nOffered]}\n";
    let reloaded_at = now();
    let (status, text) = run
        .reload_to(
            &[query("kept", "nOffered", ""), live.into()],
            &[observed("now", "oWaiting")],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let metrics = run.exporter.scrape().await;
    assert!(
        !run.sim
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/api/v2/routing/wrapupcodes")),
        "the wrap-up codes arrived before the scrape: the query may have polled"
    );
    assert_eq!(
        metrics.value("genesys_exporter_query_up", &[("query", "live")]),
        0.0,
        "the set's query_up outlived it"
    );
    assert!(
        metrics
            .find(
                "genesys_exporter_query_last_success_timestamp_seconds",
                &[("query", "live")]
            )
            .is_empty(),
        "the set's last success outlived it"
    );
    let metrics = wait_for_scrape(&run.exporter, "the query `live` and the set `now`", |m| {
        polled_since(m, "live", reloaded_at) && polled_since(m, "now", reloaded_at)
    })
    .await;
    assert_eq!(
        queries_of(&metrics, "genesys_queue_"),
        ["now".to_string()].into(),
        "observations under the query's name"
    );
    assert!(queries_of(&metrics, "genesys_conversation_").contains("live"));

    let (status, text) = run
        .reload_to(
            &[query("kept", "nOffered", ""), live.into()],
            &[observed("now", "oWaiting"), observed("live", "oWaiting")],
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(
        text.contains("observations[1]")
            && text.contains("queries[1]")
            && text.contains("\"live\""),
        "{text}"
    );
}

/// `allow_unlisted` notes are logged by a reload as at start-up.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_logs_the_allow_unlisted_notes() {
    let run = running(&[query("kept", "nOffered", "")], &[], &[]).await;
    let (status, text) = run
        .reload_to(
            &[
                query("kept", "nOffered", ""),
                query("noted", "nOffered", ", allow_unlisted: [nOffered]"),
            ],
            &[],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    // The log collector may append the line just after the answer.
    run.exporter
        .wait_for_log("needs no `allow_unlisted` entry")
        .await;
    let logs = run.exporter.logs();
    let note = logs
        .lines()
        .find(|l| l.contains("needs no `allow_unlisted` entry"))
        .unwrap_or_else(|| panic!("no note in the logs:\n{logs}"));
    assert!(note.contains("query=noted"), "{note}");
}

/// A reload that adds a dimension whose listing is slow answers at once; the query it
/// left alone keeps polling meanwhile (`kept`, every 10 s, sends a request while the
/// listing takes 20 s), the query it changed that needs none of the new names polls at
/// once (it used to wait for them too), and the added query polls once the names
/// arrive, with them. The three are told apart by their granularity.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_does_not_wait_for_the_names_it_adds() {
    let changed = |metrics: &str| {
        format!(
            "  - {{name: changed, granularity: PT15M, settle_delay: 5s, group_by: [queueId], \
             metrics: [{metrics}]}}\n"
        )
    };
    let run = running(
        &[
            query("kept", "nOffered", ", refresh: 10s"),
            changed("nOffered"),
        ],
        &[],
        &[],
    )
    .await;
    run.exporter.wait_ready().await;
    let listing = "/api/v2/routing/wrapupcodes";
    run.sim.add_fault(FaultRule {
        path_prefix: listing.into(),
        kind: FaultKind::Delay(Duration::from_secs(20)),
        trigger: Trigger::Count(1),
    });
    let reloading = Instant::now();
    let reloaded_at = now();
    let (status, text) = run.reload_to(&[
            query("kept", "nOffered", ", refresh: 10s"),
            changed("nOffered, tHandle"),
            "  - {name: wrapped, granularity: PT1H, settle_delay: 5s, group_by: [wrapUpCode], metrics: [nOffered]}\n".into(),
        ],
        &[]).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        !run.sim
            .requests()
            .iter()
            .any(|r| r.path.starts_with(listing)),
        "the listing was answered before the reload"
    );
    let metrics = wait_for_scrape(&run.exporter, "`wrapped` polled", |m| {
        polled_since(m, "wrapped", reloaded_at)
    })
    .await;
    let requests = run.sim.requests();
    let read = requests
        .iter()
        .find(|r| r.path.starts_with(listing))
        .expect("`wrapped` polled before its names were read");
    let sent_meanwhile = |granularity: &str| {
        requests.iter().any(|r| {
            r.path
                .starts_with("/api/v2/analytics/conversations/aggregates")
                && r.query
                    .as_ref()
                    .is_some_and(|q| q.granularity.as_deref() == Some(granularity))
                && r.at > reloading
                && r.at < read.answered
        })
    };
    for (query, granularity) in [("kept", "PT30M"), ("changed", "PT15M")] {
        assert!(
            sent_meanwhile(granularity),
            "`{query}` sent nothing while the listing was read; logs:\n{}",
            run.exporter.logs()
        );
    }
    assert!(
        metrics
            .samples
            .iter()
            .any(|s| s.labels.get("query").is_some_and(|q| q == "wrapped")
                && s.labels
                    .get("wrap_up_code_name")
                    .is_some_and(|n| !n.is_empty())),
        "the added query's first series have no names"
    );
}

/// A reload while the first queue names of start-up are still being read (the listing
/// takes 10 s here): the queue query it adds waits for them, as the queries of start-up
/// do, so its first series have queue names. (Its gate used to be open at once, since
/// the reload itself added no dimension.)
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_during_the_first_names_waits_for_them_where_needed() {
    let sim = simulator(SimulatorConfig::default()).await;
    let listing = "/api/v2/routing/queues";
    sim.add_fault(FaultRule {
        path_prefix: listing.into(),
        kind: FaultKind::Delay(Duration::from_secs(10)),
        trigger: Trigger::Count(1),
    });
    let run = running_against(sim, &[query("kept", "nOffered", "")], &[], &[]);
    let reloaded_at = now();
    let (status, text) = run
        .reload_to(
            &[
                query("kept", "nOffered", ""),
                "  - {name: added, granularity: PT15M, settle_delay: 5s, group_by: [queueId], \
                 metrics: [nOffered]}\n"
                    .into(),
            ],
            &[],
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let metrics = wait_for_scrape(&run.exporter, "`added` polled", |m| {
        polled_since(m, "added", reloaded_at)
    })
    .await;
    let requests = run.sim.requests();
    // Recorded once answered: none yet means `added` polled before it.
    let read = requests.iter().find(|r| r.path.starts_with(listing));
    let first = requests
        .iter()
        .find(|r| {
            r.query
                .as_ref()
                .is_some_and(|q| q.granularity.as_deref() == Some("PT15M"))
        })
        .expect("`added` sent nothing");
    assert!(
        read.is_some_and(|read| first.at >= read.answered),
        "`added` polled before the first queue names arrived; logs:\n{}",
        run.exporter.logs()
    );
    assert!(
        metrics
            .samples
            .iter()
            .filter(|s| s.labels.get("query").is_some_and(|q| q == "added"))
            .any(|s| s.labels.get("queue_name").is_some_and(|n| !n.is_empty())),
        "the added query's first series have no queue names"
    );
}

/// The claim of docs/operations.md: a reloaded config over the budget is refused whole,
/// nothing of it applied. Here the queries fit and the observation set it adds leaves no
/// room (it used to be priced with the sets of start-up, none).
#[tokio::test(flavor = "multi_thread")]
async fn a_config_over_the_budget_is_refused_whole() {
    let run = running(
        &[query("kept", "nOffered", "")],
        &[],
        &[("--genesys.requests-per-minute", "6")],
    )
    .await;
    run.exporter.wait_ready().await;
    // Queries alone over the budget: 6.1 requests a minute (the queue names with them).
    let (status, text) = run
        .reload_to(
            &[
                query("kept", "nOffered", ""),
                query("busy", "nOffered", ", refresh: 10s"),
            ],
            &[],
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("budget of 6"), "{text}");
    // 6 requests a minute of a query without names, and the queue names and an
    // observation set on top.
    let (status, text) = run
        .reload_to(
            &["  - {name: busy, granularity: PT30M, refresh: 10s, metrics: [nOffered]}\n".into()],
            &[observed("live", "oWaiting")],
        )
        .await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("budget of 6"), "{text}");
    let metrics = run.exporter.scrape().await;
    assert_eq!(
        metrics.value("genesys_exporter_config_last_reload_successful", &[]),
        0.0
    );
    assert_eq!(
        queries_of(&metrics, "genesys_exporter_query_up"),
        ["kept".to_string()].into()
    );
}
