//! Push at 1,000 queues (issue 24, "Proof"; BENCHMARKS.md, "Push: freshness and
//! cost"): the exporter binary against the simulator, in this process, over loopback.
//!
//! 1. **Freshness.** The simulator's clock is frozen (its world publishes nothing), and
//!    the bench makes the changes itself: every 50 ms a queue's `oWaiting` (voice) gets
//!    a new value, sent as a `v2.analytics.queues.{id}.observations` event on the
//!    channels subscribed to it (`Notifications::send_event`), timestamped as it is
//!    handed to the sockets. `/metrics` is scraped back to back, 20 ms apart; a change's
//!    age is the end of the first scrape that shows its value less its timestamp.
//! 2. **Cost.** A second simulator, its clock running at peak traffic all day (so its
//!    queues publish on change, at most once a second each), and the exporter with the
//!    built-in conversation query over 600 of the queues (about 96k series, as in
//!    "Workloads") beside the sets of `benches/push.yaml`: once pushed, once polled (every
//!    `transport: push` made `poll`). For each: the exporter's CPU over a minute
//!    (/proc/PID/stat, no scrape meanwhile), the observations requests it made then,
//!    the events it read, then 5,000 gzip scrapes one after the other (p50, p99), on a
//!    thread and runtime apart from the simulator's.
//!
//! `cargo bench --bench push` measures and prints the figures, nothing else; without
//! `--bench` (as `cargo test --benches` runs it) it does a few seconds at 20 queues so
//! it cannot rot.

use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod support;

use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_genesys-cloud-exporter");
/// The pushed sets; an agents set pushed is one more stanza there.
const SETS: &str = include_str!("push.yaml");

/// How a run is sized.
struct Plan {
    queues: usize,
    /// Agents of the simulated org, each a pushed activity topic of the agents set.
    agents: usize,
    /// Queues of the conversation query (600 make about 96k series).
    conversation_queues: usize,
    changes: usize,
    change_every: Duration,
    scrape_every: Duration,
    cpu_window: Duration,
    scrapes: usize,
}

fn main() {
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let plan = if measuring {
        Plan {
            queues: 1_000,
            agents: 5_000,
            conversation_queues: 600,
            changes: 600,
            change_every: Duration::from_millis(50),
            scrape_every: Duration::from_millis(20),
            cpu_window: Duration::from_secs(60),
            scrapes: 5_000,
        }
    } else {
        Plan {
            queues: 20,
            agents: 50,
            conversation_queues: 10,
            changes: 10,
            change_every: Duration::from_millis(50),
            scrape_every: Duration::from_millis(20),
            cpu_window: Duration::from_secs(2),
            scrapes: 20,
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        freshness(&plan).await;
        let push = cost(&plan, true).await;
        let poll = cost(&plan, false).await;
        println!(
            "scrape p99 pushed / polled: {:.2}x; observations requests a minute saved: {:.1}",
            push.p99_ms / poll.p99_ms,
            poll.requests_per_minute - push.requests_per_minute
        );
    });
}

/// The exporter binary, killed when dropped so that a failed bench leaves nothing behind.
struct Exporter {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Exporter {
    /// Starts the exporter with `yaml` against `sim`.
    fn start(sim: &Simulator, yaml: &str) -> Exporter {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let config = dir.path().join("config.yaml");
        std::fs::write(&config, yaml).expect("config written");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let defaults = SimulatorConfig::default();
        let child = Command::new(BINARY)
            .args(["--genesys.api-url", &sim.base_url()])
            .args(["--genesys.login-url", &sim.base_url()])
            .args(["--web.listen-address", &format!("127.0.0.1:{port}")])
            .args(["--genesys.requests-per-minute", "300"])
            .args(["--log.level", "warn"])
            .arg("--config.file")
            .arg(&config)
            .env("GENESYS_CLIENT_ID", &defaults.client_id)
            .env("GENESYS_CLIENT_SECRET", &defaults.client_secret)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("log")).expect("a log file"))
            .spawn()
            .expect("the exporter starts");
        Exporter {
            child,
            url: format!("http://127.0.0.1:{port}/metrics"),
            _dir: dir,
        }
    }

    /// `/metrics` as text.
    async fn scrape(&self, http: &reqwest::Client) -> String {
        match http.get(&self.url).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Scrapes until `ready` holds.
    async fn until(&self, http: &reqwest::Client, ready: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            let text = self.scrape(http).await;
            if ready(&text) {
                return text;
            }
            let log = std::fs::read_to_string(self._dir.path().join("log")).unwrap_or_default();
            assert!(
                Instant::now() < deadline,
                "the exporter never got ready; its log:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A simulator of the plan's queues at peak traffic all day, and its agents.
async fn simulator(plan: &Plan) -> Simulator {
    Simulator::start(
        SimulatorConfig {
            user_count: plan.agents,
            ..support::simulator_config(plan.queues)
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .expect("the simulator starts")
}

/// The value of the series `prefix` (its name and labels) in `text`.
fn value_of(text: &str, prefix: &str) -> Option<f64> {
    let at = text.find(prefix)? + prefix.len();
    let rest = &text[at..];
    let end = rest.find('\n').unwrap_or(rest.len());
    rest[..end].trim().parse().ok()
}

/// The sum of every sample of `family` whose labels contain `label`.
fn sum(text: &str, family: &str, label: &str) -> f64 {
    text.lines()
        .filter(|line| line.starts_with(family) && line.contains(label))
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// Median and maximum of `values`, sorted in place.
fn median_max(values: &mut [f64]) -> (f64, f64) {
    values.sort_by(f64::total_cmp);
    let median = values.get(values.len() / 2).copied().unwrap_or(f64::NAN);
    (median, values.last().copied().unwrap_or(f64::NAN))
}

/// Part 1: the age of pushed changes on `/metrics`.
async fn freshness(plan: &Plan) {
    let sim = simulator(plan).await;
    sim.freeze_clock("2026-11-24T10:30:00Z".parse().expect("an instant"));
    let exporter = Exporter::start(&sim, SETS);
    let http = reqwest::Client::new();
    let text = exporter
        .until(&http, |t| {
            t.contains("genesys_exporter_push_up{query=\"live\"} 1")
                && t.contains("genesys_queue_waiting{")
        })
        .await;
    // Each queue's voice `oWaiting` series, as written.
    let queues: Vec<String> = sim.queues().into_iter().map(|q| q.id).collect();
    let prefixes: Vec<String> = queues
        .iter()
        .map(|id| {
            text.lines()
                .find(|l| {
                    l.starts_with("genesys_queue_waiting{")
                        && l.contains(&format!("queue_id=\"{id}\""))
                        && l.contains("media_type=\"voice\"")
                })
                .and_then(|l| l.rsplit_once(' '))
                .map(|(series, _)| format!("{series} "))
                .expect("every queue's voice oWaiting series")
        })
        .collect();

    // (queue index, value, when it was handed to the sockets)
    let sent: Mutex<Vec<(usize, f64, Instant)>> = Mutex::default();
    let notifications = sim.notifications();
    let changer = async {
        for i in 0..plan.changes {
            // A stride prime to the queue count: no queue changes twice in a row.
            let queue = (i * 7_919) % queues.len();
            let value = 100_000.0 + i as f64;
            let body = json!({
                "group": {"queueId": queues[queue], "mediaType": "voice"},
                "data": [{"interval": "2026-11-24T10:30:00.000Z/2026-11-24T10:30:01.000Z",
                          "metrics": [{"metric": "oWaiting", "stats": {"count": value}}]}],
            });
            let topic = format!("v2.analytics.queues.{}.observations", queues[queue]);
            sent.lock()
                .expect("not poisoned")
                .push((queue, value, Instant::now()));
            notifications.send_event(&topic, body);
            tokio::time::sleep(plan.change_every).await;
        }
    };
    let watcher = async {
        let mut ages = Vec::with_capacity(plan.changes);
        let deadline =
            Instant::now() + plan.change_every * plan.changes as u32 + Duration::from_secs(10);
        while ages.len() < plan.changes && Instant::now() < deadline {
            let text = exporter.scrape(&http).await;
            let at = Instant::now();
            let sent = sent.lock().expect("not poisoned").clone();
            // Changes show in the order they were made (each publish carries all).
            for &(queue, value, when) in &sent[ages.len()..] {
                if value_of(&text, &prefixes[queue]) != Some(value) {
                    break;
                }
                ages.push((at - when).as_secs_f64());
            }
            tokio::time::sleep(plan.scrape_every).await;
        }
        ages
    };
    let ((), mut ages) = tokio::join!(changer, watcher);
    let missed = plan.changes - ages.len();
    let (median, max) = median_max(&mut ages);
    println!(
        "freshness: {} changes at {} queues, age on /metrics median {:.3} s, max {:.3} s, {missed} not seen",
        ages.len(),
        plan.queues,
        median,
        max
    );
}

/// What part 2 measured of one exporter.
struct Cost {
    p99_ms: f64,
    requests_per_minute: f64,
}

/// `scrapes` gzip scrapes of `url`, one after the other, on a runtime of their own:
/// each one's latency in ms, and the size of the last body.
fn scrape_back_to_back(url: &str, scrapes: usize) -> (Vec<f64>, usize) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for the scraper");
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let mut latencies = Vec::with_capacity(scrapes);
        let mut bytes = 0;
        for _ in 0..scrapes {
            let started = Instant::now();
            let body = http
                .get(url)
                .header("accept-encoding", "gzip")
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .expect("a scrape");
            bytes = body.bytes().await.expect("a body").len();
            latencies.push(started.elapsed().as_secs_f64() * 1_000.0);
        }
        (latencies, bytes)
    })
}

/// Part 2: CPU, requests and scrape latency, the sets pushed or polled.
async fn cost(plan: &Plan, pushed: bool) -> Cost {
    let sim = simulator(plan).await;
    let ids: Vec<String> = sim
        .queues()
        .into_iter()
        .take(plan.conversation_queues)
        .map(|q| q.id)
        .collect();
    let predicates: Vec<String> = ids
        .iter()
        .map(|id| format!("{{type: dimension, dimension: queueId, value: {id}}}"))
        .collect();
    let sets = if pushed {
        SETS.to_string()
    } else {
        SETS.replace("transport: push", "transport: poll")
            .lines()
            .filter(|l| !l.trim_start().starts_with("reconcile:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let yaml = format!(
        "queries:\n  - name: queues\n    granularity: PT30M\n    group_by: [queueId, mediaType, direction]\n    \
         metrics: [nOffered, nConnected, nTransferred, nOverSla, tHandle, tTalk, tHeld, tAcw, tAnswered, tWait, tAbandon, tShortAbandon, oServiceLevel]\n    \
         filter: {{type: or, predicates: [{}]}}\n{sets}\n",
        predicates.join(", ")
    );
    let exporter = Exporter::start(&sim, &yaml);
    let http = reqwest::Client::new();
    let transport = if pushed { "pushed" } else { "polled" };
    let text = exporter
        .until(&http, |t| {
            t.contains("genesys_conversation_offered{")
                && t.contains("genesys_queue_waiting{")
                && (!pushed || t.contains("genesys_exporter_push_up{query=\"live\"} 1"))
        })
        .await;
    let series = text
        .lines()
        .filter(|l| l.starts_with("genesys_conversation_"))
        .count();
    let observations = |t: &str| {
        sum(
            t,
            "genesys_exporter_api_requests_total{",
            "endpoint=\"observations\"",
        )
    };
    let events = |t: &str, kind: &str| sum(t, "genesys_exporter_push_events_total{", kind);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let before = exporter.scrape(&http).await;
    let cpu_before = support::cpu_seconds(exporter.child.id());
    tokio::time::sleep(plan.cpu_window).await;
    let cpu = support::cpu_seconds(exporter.child.id()) - cpu_before;
    let after = exporter.scrape(&http).await;
    let minutes = plan.cpu_window.as_secs_f64() / 60.0;
    let requests_per_minute = (observations(&after) - observations(&before)) / minutes;
    let per_second =
        |kind: &str| (events(&after, kind) - events(&before, kind)) / plan.cpu_window.as_secs_f64();
    let events_per_second = per_second("kind=\"queue_observations\"");
    let agent_events_per_second = per_second("kind=\"user_activity\"");

    // On a thread and runtime of their own: the simulator's publishing, in this process,
    // must not delay the scraper's reads and be counted as the exporter's latency.
    let url = exporter.url.clone();
    let scrapes = plan.scrapes;
    let (mut latencies, bytes) = std::thread::spawn(move || scrape_back_to_back(&url, scrapes))
        .join()
        .expect("the scraper");
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    let p99_ms = at(0.99);
    println!(
        "{transport}: {} queues, {} agents, {series} conversation series; CPU {:.1}% of a core over {:.0} s, \
         {events_per_second:.0} queue and {agent_events_per_second:.0} agent events/s pushed, \
         {requests_per_minute:.1} observations requests/min; \
         {} gzip scrapes of {bytes} bytes: p50 {:.2} ms, p99 {p99_ms:.2} ms",
        plan.queues,
        plan.agents,
        cpu / plan.cpu_window.as_secs_f64() * 100.0,
        plan.cpu_window.as_secs_f64(),
        plan.scrapes,
        at(0.5),
    );
    Cost {
        p99_ms,
        requests_per_minute,
    }
}
