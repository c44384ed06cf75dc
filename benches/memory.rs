//! Memory while polling and serving: this process plays the exporter (the real client,
//! mapping, snapshot store and HTTP server, wired as `main.rs` wires them) against the
//! simulator in a child process, polls back to back while scrapers read `/metrics`, and
//! reports VmHWM (peak RSS) and VmRSS from /proc/self/status as the polls go by.
//!
//! Targets (issue 5): peak RSS under 3 x the encoded exposition + 20 MiB at 100k series;
//! RSS not growing across 1,000 polls.
//!
//! `cargo bench --bench memory` runs 40 polls at 100k series, then 1,000 at 10k
//! (`BENCH_SIZES=500k` picks sizes: 10 polls at 500k); without `--bench` (as
//! `cargo test --benches` runs it) 3 polls at 10k.

mod support;

use std::net::TcpListener;
use std::num::NonZeroU32;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use genesys_cloud_exporter::config::QueryConfig;
use genesys_cloud_exporter::genesys::auth::{CredentialSource, Credentials, Secret};
use genesys_cloud_exporter::genesys::bodies::AggregateResult;
use genesys_cloud_exporter::genesys::names::NameDirectory;
use genesys_cloud_exporter::genesys::region::Endpoints;
use genesys_cloud_exporter::genesys::{ClientSettings, GenesysClient, ResultSink};
use genesys_cloud_exporter::mapping::{GroupMapping, GroupMemory};
use genesys_cloud_exporter::server::{AppState, Security, serve};
use genesys_cloud_exporter::snapshot::SnapshotStore;
use genesys_cloud_exporter::telemetry::Telemetry;
use genesys_cloud_exporter::web::Limits;

const BINARY: &str = env!("CARGO_BIN_EXE_genesys-cloud-exporter");

/// The simulator child, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Set in the child process that does one run: `queues polls`.
const RUN_ENV: &str = "GENESYS_MEMORY_BENCH_RUN";

fn main() {
    if let Ok(spec) = std::env::var(RUN_ENV) {
        let mut parts = spec
            .split(' ')
            .map(|p| p.parse::<usize>().expect("a number"));
        let (Some(queues), Some(polls)) = (parts.next(), parts.next()) else {
            panic!("{RUN_ENV} must be 'queues polls'");
        };
        // As main.rs does.
        genesys_cloud_exporter::platform::return_large_buffers_to_the_system();
        let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
        runtime.block_on(run(queues, polls));
        return;
    }
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let runs: Vec<(support::Size, usize)> = if measuring {
        match std::env::var("BENCH_SIZES") {
            // Some sizes only (`BENCH_SIZES=500k`): 1,000 polls at 10k, 40 at 100k, 10 at 500k.
            Ok(_) => support::selected_sizes(true)
                .into_iter()
                .map(|size| {
                    let polls = match size.label {
                        "10k" => 1000,
                        "100k" => 40,
                        _ => 10,
                    };
                    (size, polls)
                })
                .collect(),
            Err(_) => vec![(support::SIZES[1], 40), (support::SIZES[0], 1000)],
        }
    } else {
        vec![(support::SIZES[0], 3)]
    };
    // A fresh process per run, so that each peak is its own.
    for (size, polls) in runs {
        let status = Command::new(std::env::current_exe().expect("own path"))
            .env(RUN_ENV, format!("{} {polls}", size.queues))
            .status()
            .expect("the run starts");
        assert!(status.success(), "the run at {} failed", size.label);
    }
}

/// (VmHWM, VmRSS) of this process in MiB.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mib = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (mib("VmHWM:"), mib("VmRSS:"))
}

/// An answer mapped group by group as it streams in, as the live poll maps it.
struct Streamed(GroupMapping<Arc<QueryConfig>>);

impl ResultSink for Streamed {
    fn take(&mut self, result: AggregateResult) -> bool {
        self.0.add(&result);
        true
    }
}

/// Total time of the aggregates requests, from the exporter's own histogram.
fn aggregates_seconds(telemetry: &Telemetry) -> f64 {
    let tail = telemetry.scrape_tail(false);
    String::from_utf8_lossy(&tail.plain)
        .lines()
        .find_map(|line| {
            line.strip_prefix(
                "genesys_exporter_api_request_duration_seconds_sum{endpoint=\"aggregates\"} ",
            )
        })
        .and_then(|value| value.parse().ok())
        .unwrap_or(f64::NAN)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn run(queues: usize, polls: usize) {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _simulator = Process(
        Command::new(BINARY)
            .args(["simulate", "--listen-address", &format!("127.0.0.1:{port}")])
            .args(["--queues", &queues.to_string(), "--busy-all-day"])
            .args(["--requests-per-minute", "1000000"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the simulator starts"),
    );
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(&base).send().await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(20), "no simulator");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let defaults = support::simulator_config(0);
    let endpoints = Endpoints::resolve("us_east_1", Some(&base), Some(&base)).expect("endpoints");
    let credentials = Credentials {
        client_id: CredentialSource::Value(Secret::new(defaults.client_id)),
        client_secret: CredentialSource::Value(Secret::new(defaults.client_secret)),
    };
    let budget = NonZeroU32::new(1_000_000).expect("non-zero");
    let telemetry = Arc::new(Telemetry::new(budget.get()));
    let client = GenesysClient::new(
        ClientSettings::new(endpoints, credentials, budget),
        Arc::clone(&telemetry),
    )
    .expect("a client");
    let query = Arc::new(support::query());
    let store = Arc::new(SnapshotStore::new([(
        query.name.as_str(),
        query.granularity.to_string(),
    )]));
    let state = Arc::new(AppState {
        store: Arc::clone(&store),
        telemetry: Arc::clone(&telemetry),
        telemetry_path: "/metrics".to_string(),
        requests_per_minute: budget.get(),
        demo: false,
        names: Arc::new(NameDirectory::new([], Arc::clone(&telemetry))),
        planner: None,
        reload: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listens");
    let metrics_url = format!("http://{}/metrics", listener.local_addr().expect("bound"));
    // The exporter's default limits (`--web.max-connections`, `--web.read-header-timeout`).
    let security = Security {
        web_config: Arc::default(),
        limits: Limits {
            max_connections: 64,
            header_timeout: Duration::from_secs(10),
        },
    };
    tokio::spawn(serve(
        vec![listener],
        state,
        security,
        std::future::pending(),
    ));
    // Two scrapers, like two Prometheus replicas, but back to back.
    for gzipped in [false, true] {
        let url = metrics_url.clone();
        let http = http.clone();
        tokio::spawn(async move {
            loop {
                let mut request = http.get(&url);
                if gzipped {
                    request = request.header("accept-encoding", "gzip");
                }
                // Read and drop the body a chunk at a time: the scrapers share this
                // process, and must not add whole bodies to what is measured.
                if let Ok(mut response) = request.send().await {
                    while let Ok(Some(_)) = response.chunk().await {}
                }
            }
        });
    }

    let directory = NameDirectory::new(
        query.group_by.iter().map(String::as_str),
        Arc::clone(&telemetry),
    );
    directory.refresh(&client).await.expect("queue names");
    let names = directory.current();
    let interval = support::interval();
    let mut memory = GroupMemory::default();
    let report_every = (polls / 10).max(1);
    let mut exposition_bytes = 0;
    let mut series = 0;
    let started = Instant::now();
    // Per poll: from sending the request to the new snapshot being served, i.e. the
    // latency to data once the poll timer fires (the API's time included).
    let mut latencies = Vec::with_capacity(polls);
    for poll in 1..=polls {
        let poll_started = Instant::now();
        // As the live poll does (schedule.rs): each answer mapped as it streams in.
        let mut answer = Streamed(GroupMapping::new(
            Arc::clone(&query),
            interval,
            &names,
            memory.groups(),
        ));
        for request in query.requests(&interval) {
            answer = client
                .stream_aggregates_into(query.source, &request, answer)
                .await
                .expect("a response")
                .value;
        }
        let mapped = answer.0.finish(&mut memory);
        series = mapped.series.sample_count();
        store.publish(&query.name, mapped.series);
        exposition_bytes = store.exposition().plain_len();
        latencies.push(poll_started.elapsed());
        if poll % report_every == 0 || poll == 1 {
            let (hwm, rss) = rss();
            println!(
                "{queues} queues, poll {poll:>4}: VmHWM {hwm:7.1} MiB, VmRSS {rss:7.1} MiB ({:.0} s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
    latencies.sort_unstable();
    let api = aggregates_seconds(&telemetry) / polls as f64;
    println!(
        "{queues} queues: poll latency (request sent to new snapshot served) median {:.3} s, \
         max {:.3} s; of which the API's response {api:.3} s on average",
        latencies[latencies.len() / 2].as_secs_f64(),
        latencies[latencies.len() - 1].as_secs_f64(),
    );
    let (hwm, _) = rss();
    let exposition = exposition_bytes as f64 / 1024.0 / 1024.0;
    let target = 3.0 * exposition + 20.0;
    println!(
        "{queues} queues: {series} series, exposition {exposition:.1} MiB; peak RSS {hwm:.1} MiB \
         against a target of {target:.1} MiB ({:.0}%)",
        100.0 * hwm / target
    );
}
