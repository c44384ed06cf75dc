//! Workloads shared by the benches: simulated orgs sized to give about 10k, 100k and
//! 500k series from the exporter's built-in query, and the aggregates response bytes
//! the simulator answers for one fixed interval.
#![allow(dead_code)] // each bench uses its own subset

use genesys_cloud_exporter::config::{Config, QueryConfig};
use genesys_cloud_exporter::genesys::bodies::AggregateResponse;
use genesys_cloud_exporter::genesys::names::Names;
use genesys_cloud_exporter::interval::Interval;
use genesys_cloud_exporter::mapping::{GroupMemory, map_response};
use genesys_cloud_exporter::series::QuerySeries;
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};

/// One benchmark size: a label and the org that produces about that many series.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub label: &'static str,
    pub queues: usize,
}

/// Queue counts calibrated (BENCHMARKS.md) so that the built-in query (queue × media
/// type × direction, 13 metrics, 30-minute buckets) yields about 10k, 100k and 500k
/// series in a busy interval.
pub const SIZES: [Size; 3] = [
    Size {
        label: "10k",
        queues: 60,
    },
    Size {
        label: "100k",
        queues: 600,
    },
    Size {
        label: "500k",
        queues: 3000,
    },
];

/// The sizes to run: all of them when measuring, only the smallest when criterion runs
/// each bench once (`cargo test --benches`); `BENCH_SIZES=10k,100k` picks some.
pub fn selected_sizes(measuring: bool) -> Vec<Size> {
    match std::env::var("BENCH_SIZES") {
        Ok(labels) => SIZES
            .into_iter()
            .filter(|s| labels.split(',').any(|l| l.trim() == s.label))
            .collect(),
        Err(_) if measuring => SIZES.to_vec(),
        Err(_) => SIZES[..1].to_vec(),
    }
}

/// The interval every bench queries: a weekday half hour, long past.
pub const INTERVAL: &str = "2026-11-18T10:00:00.000Z/2026-11-18T10:30:00.000Z";

pub fn interval() -> Interval {
    Interval::parse_iso8601(INTERVAL).expect("a valid interval")
}

/// The exporter's built-in query (what `--demo` and a config-less run poll).
pub fn query() -> QueryConfig {
    Config::builtin_default()
        .queries
        .into_iter()
        .next()
        .expect("the built-in config has a query")
}

/// A simulated org of `queues` queues with peak traffic all day, so the series count
/// does not depend on when the bench runs.
pub fn simulator_config(queues: usize) -> SimulatorConfig {
    SimulatorConfig {
        queue_count: queues,
        busy_all_day: true,
        // Benchmarks poll fast; the simulator's own limit is not what they measure.
        requests_per_minute: 1_000_000,
        ..SimulatorConfig::default()
    }
}

/// The response body the simulator gives the built-in query for [`INTERVAL`], and its
/// queue names.
pub struct Response {
    pub body: Vec<u8>,
    pub queue_names: Names,
}

/// Starts a simulator of `queues` queues, asks it the built-in query once, stops it.
pub fn fetch(queues: usize) -> Response {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let config = simulator_config(queues);
        let simulator = Simulator::start(config.clone(), ([127, 0, 0, 1], 0).into())
            .await
            .expect("the simulator starts");
        let http = reqwest::Client::new();
        let base = simulator.base_url();
        let token: serde_json::Value = http
            .post(format!("{base}/oauth/token"))
            .basic_auth(&config.client_id, Some(&config.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("a token")
            .json()
            .await
            .expect("a token body");
        let token = token["access_token"].as_str().expect("an access token");
        let query = query();
        let body = serde_json::json!({
            "interval": INTERVAL,
            "granularity": query.granularity.to_string(),
            "groupBy": query.group_by,
            "metrics": query.metrics,
        });
        let body = http
            .post(format!(
                "{base}/api/v2/analytics/conversations/aggregates/query"
            ))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("an aggregates response")
            .bytes()
            .await
            .expect("the response body")
            .to_vec();
        let queue_names = Names::from_tables([(
            "queueId",
            simulator
                .queues()
                .into_iter()
                .map(|q| (q.id, q.name))
                .collect(),
        )]);
        simulator.shutdown().await;
        Response { body, queue_names }
    })
}

/// The series the built-in query exports from an org of `queues` queues, for [`INTERVAL`].
pub fn conversation_series(queues: usize) -> QuerySeries {
    let response = fetch(queues);
    let parsed: AggregateResponse = serde_json::from_slice(&response.body).expect("valid JSON");
    map_response(
        &query(),
        &interval(),
        &parsed,
        &response.queue_names,
        &mut GroupMemory::default(),
    )
    .series
}

/// User and system CPU seconds process `pid` has used so far, from /proc/PID/stat
/// (clock ticks are 1/100 s on Linux).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}
