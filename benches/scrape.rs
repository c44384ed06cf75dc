//! Load benchmark of the running binary: `/metrics` of the exporter serving about 100k
//! series (polled from the simulator, run as `genesys-cloud-exporter simulate`) against
//! a bare hyper handler that returns the same pre-built bytes, in the same run, at 1, 8
//! and 64 concurrent scrapers, with and without `Accept-Encoding: gzip`. The two servers
//! take turns, round after round, so that the noise of a shared machine falls on both.
//!
//! Also reported: the exporter's RSS against the size of its exposition, its API
//! requests, how long its poll took, and how soon `--demo` shows its first values.
//!
//! `cargo bench --bench scrape` measures; without `--bench` (as `cargo test --benches`
//! runs it) it does one short round at 10k series so that it cannot rot.

mod support;

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

/// Set (to `port plain-file gzip-file`) in the child that runs the bare handler.
const BARE_SERVER_ENV: &str = "GENESYS_SCRAPE_BENCH_BARE";
const BINARY: &str = env!("CARGO_BIN_EXE_genesys-cloud-exporter");

/// How a run is sized.
struct Plan {
    size: support::Size,
    concurrency: &'static [usize],
    /// Length of one (server, concurrency, encoding) run.
    run: Duration,
    rounds: usize,
    demo_starts: usize,
}

fn main() {
    if let Ok(spec) = std::env::var(BARE_SERVER_ENV) {
        bare_server(&spec);
        return;
    }
    let measuring = std::env::args().any(|arg| arg == "--bench");
    let plan = if measuring {
        Plan {
            size: support::SIZES[1],
            concurrency: &[1, 8, 64],
            run: Duration::from_secs(4),
            rounds: 3,
            demo_starts: 5,
        }
    } else {
        Plan {
            size: support::SIZES[0],
            concurrency: &[1, 8],
            run: Duration::from_millis(300),
            rounds: 1,
            demo_starts: 1,
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(bench(plan));
}

/// A child process, killed when dropped so that a failed bench leaves nothing behind.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Process {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn spawn(command: &mut Command) -> Process {
    Process(
        command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the process starts"),
    )
}

/// Polls `url` until `done` accepts its body; returns how long that took.
async fn wait_for(
    http: &reqwest::Client,
    url: &str,
    limit: Duration,
    done: impl Fn(&str) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        if let Ok(response) = http.get(url).send().await
            && let Ok(text) = response.text().await
            && done(&text)
        {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{url} not ready in {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn bench(plan: Plan) {
    let http = reqwest::Client::new();
    let sim_port = free_port();
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    let _simulator = spawn(Command::new(BINARY).args([
        "simulate",
        "--listen-address",
        &format!("127.0.0.1:{sim_port}"),
        "--queues",
        &plan.size.queues.to_string(),
        "--busy-all-day",
        "--requests-per-minute",
        "1000000",
    ]));
    let defaults = support::simulator_config(0);
    wait_for(
        &http,
        &format!("{sim_url}/api/v2/routing/queues"),
        Duration::from_secs(20),
        |_| true,
    )
    .await;

    let exporter_port = free_port();
    let exporter_url = format!("http://127.0.0.1:{exporter_port}/metrics");
    let exporter = spawn(
        Command::new(BINARY)
            .args([
                "--genesys.api-url",
                &sim_url,
                "--genesys.login-url",
                &sim_url,
            ])
            .args([
                "--web.listen-address",
                &format!("127.0.0.1:{exporter_port}"),
            ])
            .args(["--log.level", "warn"])
            // Above the default of 64: the load generator's runs follow each other, and
            // the connections of one run are still closing while the next 64 open. With
            // the default, the 64-scraper runs measured the wait for a slot, not a scrape.
            .args(["--web.max-connections", "1000"])
            .env("GENESYS_CLIENT_ID", &defaults.client_id)
            .env("GENESYS_CLIENT_SECRET", &defaults.client_secret),
    );
    let first_values = wait_for(&http, &exporter_url, Duration::from_secs(600), |text| {
        text.contains("genesys_conversation_offered{")
    })
    .await;

    let plain = fetch(&http, &exporter_url, false).await;
    let gzip = fetch(&http, &exporter_url, true).await;
    let series = plain
        .split(|&b| b == b'\n')
        .filter(|line| line.starts_with(b"genesys_conversation_"))
        .count();
    println!(
        "workload: {} queues, {series} conversation series, /metrics {} bytes plain, {} gzipped; \
         first values {:.2} s after start",
        plan.size.queues,
        plain.len(),
        gzip.len(),
        first_values.as_secs_f64()
    );
    report_exporter_metrics(&String::from_utf8_lossy(&plain));

    let dir = tempfile::tempdir().expect("a temporary directory");
    let (plain_path, gzip_path) = (dir.path().join("plain"), dir.path().join("gzip"));
    std::fs::write(&plain_path, &plain).expect("written");
    std::fs::write(&gzip_path, &gzip).expect("written");
    let bare_port = free_port();
    let bare = spawn(
        Command::new(std::env::current_exe().expect("own path")).env(
            BARE_SERVER_ENV,
            format!(
                "{bare_port} {} {}",
                plain_path.display(),
                gzip_path.display()
            ),
        ),
    );
    let bare_url = format!("http://127.0.0.1:{bare_port}/metrics");
    wait_for(&http, &bare_url, Duration::from_secs(20), |_| true).await;

    let targets = [
        ("exporter", &exporter, &exporter_url),
        ("bare", &bare, &bare_url),
    ];
    let mut results: Vec<Tally> = Vec::new();
    for round in 0..plan.rounds {
        for &concurrency in plan.concurrency {
            for gzipped in [false, true] {
                // Alternate which server goes first.
                let order: [usize; 2] = if round % 2 == 0 { [0, 1] } else { [1, 0] };
                for index in order {
                    let (name, process, url) = targets[index];
                    let cpu_before = support::cpu_seconds(process.pid());
                    let run = load(url, concurrency, gzipped, plan.run).await;
                    let cpu = support::cpu_seconds(process.pid()) - cpu_before;
                    let key = (name, concurrency, gzipped);
                    match results.iter_mut().find(|t| t.key == key) {
                        Some(tally) => tally.add(run, cpu),
                        None => {
                            let mut tally = Tally::new(key);
                            tally.add(run, cpu);
                            results.push(tally);
                        }
                    }
                }
            }
        }
    }
    print_results(&results);

    let status =
        std::fs::read_to_string(format!("/proc/{}/status", exporter.pid())).unwrap_or_default();
    let kib = |field: &str| {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let mib = |bytes: f64| bytes / 1024.0 / 1024.0;
    let budget = 3.0 * plain.len() as f64 + 20.0 * 1024.0 * 1024.0;
    println!(
        "exporter memory after polling and serving: VmHWM {:.1} MiB, VmRSS {:.1} MiB; \
         target 3 x {:.1} MiB exposition + 20 MiB = {:.1} MiB",
        kib("VmHWM:") / 1024.0,
        kib("VmRSS:") / 1024.0,
        mib(plain.len() as f64),
        mib(budget)
    );
    drop(exporter);

    for _ in 0..plan.demo_starts {
        let port = free_port();
        let started = Instant::now();
        let _demo = spawn(Command::new(BINARY).args([
            "--demo",
            "--web.listen-address",
            &format!("127.0.0.1:{port}"),
        ]));
        let url = format!("http://127.0.0.1:{port}/metrics");
        wait_for(&http, &url, Duration::from_secs(30), |text| {
            text.contains("genesys_conversation_offered{")
        })
        .await;
        println!(
            "demo: first values on /metrics {:.3} s after the process was started",
            started.elapsed().as_secs_f64()
        );
    }
}

/// `/metrics` as sent, not decoded (reqwest here has no gzip support compiled in).
async fn fetch(http: &reqwest::Client, url: &str, gzipped: bool) -> Bytes {
    let mut request = http.get(url);
    if gzipped {
        request = request.header(header::ACCEPT_ENCODING, "gzip");
    }
    request
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .expect("a scrape")
        .bytes()
        .await
        .expect("a body")
}

/// The exporter's own account of its API use and of its poll.
fn report_exporter_metrics(text: &str) {
    for line in text.lines().filter(|l| {
        l.starts_with("genesys_exporter_api_requests_total")
            || l.starts_with("genesys_exporter_query_duration_seconds")
            || l.starts_with("genesys_exporter_api_request_duration_seconds_sum")
            || l.starts_with("genesys_exporter_api_request_duration_seconds_count")
    }) {
        println!("  {line}");
    }
}

/// One load run: how many scrapes completed, their latencies, the wall time.
struct Run {
    latencies: Vec<Duration>,
    elapsed: Duration,
}

/// `concurrency` scrapers, each on its own keep-alive connection, scraping `url` back to
/// back for `length`.
async fn load(url: &str, concurrency: usize, gzipped: bool, length: Duration) -> Run {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("an HTTP client");
    let started = Instant::now();
    let deadline = started + length;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let http = http.clone();
        let url = url.to_string();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let sent = Instant::now();
                fetch(&http, &url, gzipped).await;
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a scraper"));
    }
    Run {
        latencies,
        elapsed: started.elapsed(),
    }
}

/// Every run of one (server, concurrency, gzip) combination.
struct Tally {
    key: (&'static str, usize, bool),
    latencies: Vec<Duration>,
    seconds: f64,
    cpu_seconds: f64,
}

impl Tally {
    fn new(key: (&'static str, usize, bool)) -> Tally {
        Tally {
            key,
            latencies: Vec::new(),
            seconds: 0.0,
            cpu_seconds: 0.0,
        }
    }

    fn add(&mut self, run: Run, cpu_seconds: f64) {
        self.latencies.extend(run.latencies);
        self.seconds += run.elapsed.as_secs_f64();
        self.cpu_seconds += cpu_seconds;
    }

    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds
    }

    fn p99_ms(&self) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        let index = ((sorted.len() as f64 * 0.99).ceil() as usize).saturating_sub(1);
        sorted
            .get(index)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    }

    /// Server CPU milliseconds per scrape.
    fn cpu_ms(&self) -> f64 {
        self.cpu_seconds * 1000.0 / self.latencies.len() as f64
    }
}

fn print_results(results: &[Tally]) {
    println!(
        "{:>5} {:>5} | {:>10} {:>9} {:>8} | {:>10} {:>9} {:>8} | {:>10} {:>9} {:>9}",
        "conc",
        "gzip",
        "exp req/s",
        "exp p99",
        "exp cpu",
        "bare req/s",
        "bare p99",
        "bare cpu",
        "thrpt x",
        "p99 x",
        "cpu x"
    );
    for exporter in results.iter().filter(|t| t.key.0 == "exporter") {
        let (_, concurrency, gzipped) = exporter.key;
        let Some(bare) = results
            .iter()
            .find(|t| t.key == ("bare", concurrency, gzipped))
        else {
            continue;
        };
        println!(
            "{:>5} {:>5} | {:>10.1} {:>7.2}ms {:>6.2}ms | {:>10.1} {:>7.2}ms {:>6.2}ms | {:>10.2} {:>9.2} {:>9.2}",
            concurrency,
            if gzipped { "yes" } else { "no" },
            exporter.throughput(),
            exporter.p99_ms(),
            exporter.cpu_ms(),
            bare.throughput(),
            bare.p99_ms(),
            bare.cpu_ms(),
            bare.throughput() / exporter.throughput(),
            exporter.p99_ms() / bare.p99_ms(),
            exporter.cpu_ms() / bare.cpu_ms(),
        );
    }
    println!("(x columns: the exporter's cost relative to the bare handler; target <= 1.25)");
}

/// The baseline: hyper serving the same bytes, gzip when asked, nothing else.
fn bare_server(spec: &str) {
    let parts: Vec<&str> = spec.split(' ').collect();
    let [port, plain, gzip] = parts.as_slice() else {
        panic!("{BARE_SERVER_ENV} must be 'port plain-file gzip-file'");
    };
    let port: u16 = port.parse().expect("a port");
    let plain = Bytes::from(std::fs::read(plain).expect("the plain body"));
    let gzip = Bytes::from(std::fs::read(gzip).expect("the gzip body"));
    let bodies = Arc::new((plain, gzip));
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .expect("the bare server listens");
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let bodies = Arc::clone(&bodies);
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let gzipped = request
                    .headers()
                    .get(header::ACCEPT_ENCODING)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("gzip"));
                let body = if gzipped {
                    bodies.1.clone()
                } else {
                    bodies.0.clone()
                };
                let mut response = Response::new(Full::new(body));
                let headers = response.headers_mut();
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                if gzipped {
                    headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                async move { Ok::<_, std::convert::Infallible>(response) }
            });
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}
