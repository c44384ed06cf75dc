//! Shared test helpers: run the real exporter binary, scrape it, read its metrics.
#![allow(dead_code)] // each test file uses its own subset

pub mod prometheus;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::num::NonZeroU32;

use genesys_cloud_exporter::genesys::auth::{CredentialSource, Credentials, Secret};
use genesys_cloud_exporter::genesys::region::Endpoints;
use genesys_cloud_exporter::genesys::{ClientSettings, GenesysClient, RetryPolicy};
use genesys_cloud_exporter::simulator::{Simulator, SimulatorConfig};
use genesys_cloud_exporter::telemetry::Telemetry;

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret-value-7f3a";

/// A simulator with the test credentials.
pub async fn simulator(config: SimulatorConfig) -> Simulator {
    Simulator::start(
        SimulatorConfig {
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            ..config
        },
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .expect("simulator starts")
}

/// An API client of the simulator, logging in with `secret`, with quick retries.
pub fn client(sim: &Simulator, secret: &str) -> (GenesysClient, Arc<Telemetry>) {
    client_with(settings(sim, secret, 300))
}

/// Settings for `sim` with a budget of `budget` requests a minute and quick retries
/// (a `Retry-After` of up to 3 s is retried, a longer one honoured).
pub fn settings(sim: &Simulator, secret: &str, budget: u32) -> ClientSettings {
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

/// A client with these settings, and its telemetry.
pub fn client_with(settings: ClientSettings) -> (GenesysClient, Arc<Telemetry>) {
    let telemetry = Arc::new(Telemetry::new(settings.requests_per_minute.get()));
    (
        GenesysClient::new(settings, Arc::clone(&telemetry)).unwrap(),
        telemetry,
    )
}

/// The statuses of the requests to `path`, in order.
pub fn statuses(sim: &Simulator, path: &str) -> Vec<u16> {
    sim.requests()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.status)
        .collect()
}

/// How long a start may take before the test fails: only a hung start gets near it, so it
/// is generous (a loaded 2-core CI machine runs several tests at once).
const START_DEADLINE: Duration = Duration::from_secs(60);

/// The exporter binary, running, with its standard error captured.
pub struct Exporter {
    child: Child,
    pub base_url: String,
    logs: Arc<Mutex<Vec<String>>>,
}

/// How to run the exporter in a test.
pub struct ExporterRun<'a> {
    pub args: Vec<String>,
    pub env: Vec<(&'a str, String)>,
}

impl<'a> ExporterRun<'a> {
    /// Pointed at `simulator`, with the test credentials in the environment.
    pub fn against(simulator: &Simulator) -> Self {
        Self::against_url(simulator.base_url())
    }

    /// Pointed at `base` for both the API and the login, with the test credentials in
    /// the environment: for stand-ins other than the simulator.
    pub fn against_url(base: String) -> Self {
        ExporterRun {
            args: vec![
                "--genesys.api-url".into(),
                base.clone(),
                "--genesys.login-url".into(),
                base,
            ],
            env: vec![
                ("GENESYS_CLIENT_ID", CLIENT_ID.into()),
                ("GENESYS_CLIENT_SECRET", CLIENT_SECRET.into()),
            ],
        }
    }

    pub fn demo() -> Self {
        ExporterRun {
            args: vec!["--demo".into()],
            env: vec![],
        }
    }

    /// Runs the subcommand `args` (its name first) instead of the exporter.
    pub fn subcommand(mut self, args: &[&str]) -> Self {
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        all.append(&mut self.args);
        self.args = all;
        self
    }

    pub fn arg(mut self, flag: &str, value: impl Into<String>) -> Self {
        self.args.push(flag.into());
        self.args.push(value.into());
        self
    }

    pub fn config(self, dir: &Path, yaml: &str) -> Self {
        let path = dir.join("config.yaml");
        std::fs::write(&path, yaml).expect("config written");
        self.arg("--config.file", path.to_string_lossy())
    }

    /// Starts the exporter on a free loopback port and waits until it answers HTTP
    /// (see [`Exporter::wait_answering`]): a bound socket alone accepts connections that
    /// nobody may ever answer.
    pub fn start(self) -> Exporter {
        let mut exporter = self.start_listening();
        exporter.wait_answering();
        exporter
    }

    /// Starts the exporter on a free loopback port and returns as soon as its log says
    /// where it listens, without waiting for an answer: for the tests of what it answers
    /// from its first second. (The port is chosen by the system, so the log line is the
    /// only place it can be read from.)
    pub fn start_listening(self) -> Exporter {
        let mut child = command(&self.args, &self.env)
            .arg("--web.listen-address")
            .arg("127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("exporter starts");
        // Both streams, so tests can check nothing secret appears on either.
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr piped");
        let stdout = child.stdout.take().expect("stdout piped");
        collect_lines(stderr, Arc::clone(&logs));
        collect_lines(stdout, Arc::clone(&logs));
        let deadline = Instant::now() + START_DEADLINE;
        let address = loop {
            let found = logs
                .lock()
                .unwrap()
                .iter()
                .find(|l| l.contains("listening for scrapes"))
                .and_then(|l| logfmt_value(l, "address").or_else(|| json_field(l, "address")));
            if let Some(address) = found {
                break address;
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("exporter exited with {status}: {:?}", logs.lock().unwrap());
            }
            assert!(
                Instant::now() < deadline,
                "exporter never listened: {:?}",
                logs.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        Exporter {
            child,
            base_url: format!("http://{address}"),
            logs,
        }
    }

    /// Runs the exporter to its exit (for start-up failures): status and standard error.
    /// An exporter that starts instead of exiting is killed after 30 s and fails the test,
    /// rather than hanging the suite.
    pub fn run_to_exit(self) -> (ExitStatus, String) {
        let mut child = command(&self.args, &self.env)
            .arg("--web.listen-address")
            .arg("127.0.0.1:0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("exporter runs");
        let mut stderr = child.stderr.take().expect("stderr piped");
        let reader = std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stderr, &mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().expect("exporter status") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "exporter did not exit within 30 s: {}",
                    reader.join().unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        (status, reader.join().expect("stderr read"))
    }
}

/// What one plain `GET /-/healthy` on a fresh connection got back.
enum Probe {
    /// `200`: the server answers.
    Healthy,
    /// Not HTTP: a TLS listener refused the plain request, so it is served too.
    Tls,
    /// Some other HTTP answer (its first bytes).
    Other(String),
}

/// One `GET /-/healthy` to `address`, waiting a second at most for the answer to begin
/// (then the caller asks again on a new connection); `None` when nothing came back.
fn probe(address: &str) -> Option<Probe> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(1)))
        .expect("read timeout set");
    stream
        .write_all(b"GET /-/healthy HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut reply = [0u8; 32];
    let read = match stream.read(&mut reply) {
        Ok(read) => read,
        // Reset after reading the request: a TLS listener dropping it.
        Err(err) if err.kind() == std::io::ErrorKind::ConnectionReset => return Some(Probe::Tls),
        Err(_) => return None,
    };
    let reply = &reply[..read];
    Some(if reply.starts_with(b"HTTP/1.1 200 ") {
        Probe::Healthy
    } else if reply.starts_with(b"HTTP/") {
        Probe::Other(String::from_utf8_lossy(reply).into_owned())
    } else {
        // A TLS alert record, or the connection closed.
        Probe::Tls
    })
}

/// Appends every line read from `stream` to `sink`, on a thread of its own.
fn collect_lines(stream: impl std::io::Read + Send + 'static, sink: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
}

fn command(args: &[String], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .env_remove("GENESYS_CLIENT_ID")
        .env_remove("GENESYS_CLIENT_SECRET")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_ID")
        .env_remove("GENESYSCLOUD_OAUTHCLIENT_SECRET")
        .env_remove("GENESYSCLOUD_REGION")
        .stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// Runs `simulate` with `args` (plus a free loopback port and JSON logs) and returns
/// the process and its base URL, read from its first log line, which must be JSON.
pub fn simulate_subcommand(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(binary())
        .args([
            "simulate",
            "--listen-address",
            "127.0.0.1:0",
            "--log.format",
            "json",
        ])
        .args(args)
        .env_remove("GENESYS_CLIENT_ID")
        .env_remove("GENESYS_CLIENT_SECRET")
        .stderr(Stdio::piped())
        .spawn()
        .expect("simulate starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr piped")).lines();
    let line = lines.next().expect("a log line").expect("readable");
    let entry: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    let address = entry["fields"]["local_addr"]
        .as_str()
        .expect("the listening address");
    (child, format!("http://{address}"))
}

/// `--config.check` of `yaml` (written as `dir/config.yaml`) with `args`, without
/// credentials: the exit status and everything printed.
pub fn config_check(dir: &Path, yaml: &str, args: &[&str]) -> (i32, String) {
    let path = dir.join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    let output = std::process::Command::new(binary())
        .args(["--config.check", "--config.file"])
        .arg(&path)
        .args(args)
        .env_remove("GENESYS_CLIENT_ID")
        .env_remove("GENESYS_CLIENT_SECRET")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_genesys-cloud-exporter"))
}

/// The value of `key=` in a logfmt line.
/// The string field `key` of a `--log.format json` line.
fn json_field(line: &str, key: &str) -> Option<String> {
    let line: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(line["fields"][key].as_str()?.to_string())
}

fn logfmt_value(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!("{key}="))? + key.len() + 1;
    let rest = &line[start..];
    let value = if let Some(quoted) = rest.strip_prefix('"') {
        quoted.split('"').next()?
    } else {
        rest.split_whitespace().next()?
    };
    Some(value.to_string())
}

impl Exporter {
    /// Waits until the exporter answers a `GET /-/healthy` on its address: 200 over plain
    /// HTTP or, when it serves TLS, its handshake's refusal of the plain request (a TLS
    /// alert, or the connection closed or reset after the request was read). A socket
    /// that is bound but not yet served holds the connection in its backlog and says
    /// nothing, which is what this tells apart. Each attempt waits for the answer itself;
    /// the deadline only fails a hung start.
    fn wait_answering(&mut self) {
        let address = self.base_url.trim_start_matches("http://").to_string();
        let deadline = Instant::now() + START_DEADLINE;
        loop {
            let exited = self.child.try_wait();
            match probe(&address) {
                Some(Probe::Healthy) => return,
                // A reset may also be the process going away: only a live one answered.
                Some(Probe::Tls) if matches!(exited, Ok(None)) => return,
                Some(Probe::Other(reply)) => {
                    panic!("/-/healthy answered {reply:?}; logs:\n{}", self.logs())
                }
                _ => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("exporter exited with {status}: {}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "exporter listened but never answered /-/healthy; logs:\n{}",
                self.logs()
            );
        }
    }

    /// The process id, to read its memory figures in /proc.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running (it has not crashed or exited).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// Everything the exporter has written so far (standard error and output).
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits until the logs contain `text`; the deadline only stops a broken run from
    /// hanging, so it is generous.
    pub async fn wait_for_log(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.logs().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until `/-/ready` answers 200. The deadline only stops a broken run: it is
    /// generous because a first poll of a big org on a loaded 2-core machine (CI runs
    /// several tests at once) can take well over half a minute.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(180);
        loop {
            if let Ok(response) = reqwest::get(self.url("/-/ready")).await
                && response.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never ready; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Scrapes the telemetry path in the Prometheus text format.
    pub async fn scrape(&self) -> Metrics {
        Metrics::parse(&self.page("/metrics").await)
    }

    /// Scrapes until `ready` holds for the scrape, and returns it; the deadline only
    /// stops a broken run from hanging.
    pub async fn scrape_until(&self, ready: impl Fn(&Metrics) -> bool) -> Metrics {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let metrics = self.scrape().await;
            if ready(&metrics) {
                return metrics;
            }
            assert!(
                Instant::now() < deadline,
                "never ready; logs:\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The body of a GET of `path`, such as the landing page `/`.
    pub async fn page(&self, path: &str) -> String {
        reqwest::get(self.url(path))
            .await
            .expect("GET")
            .text()
            .await
            .expect("body")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(Instant::now() < deadline, "exporter ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One sample of an exposition.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition (text format 0.0.4 or OpenMetrics; comments skipped).
#[derive(Clone, Debug)]
pub struct Metrics {
    pub text: String,
    pub samples: Vec<MetricSample>,
}

impl Metrics {
    pub fn parse(text: &str) -> Metrics {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(parse_sample)
            .collect();
        Metrics {
            text: text.to_string(),
            samples,
        }
    }

    /// Samples of `name` whose labels include every pair in `labels`.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&MetricSample> {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The one value of `name` with `labels`; panics when there is not exactly one.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.find(name, labels);
        assert_eq!(found.len(), 1, "{name}{labels:?}: {found:?}");
        found[0].value
    }
}

fn parse_sample(line: &str) -> MetricSample {
    let (name_and_labels, value) = line.rsplit_once(' ').expect("sample has a value");
    let (name, labels) = match name_and_labels.split_once('{') {
        Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
        None => (name_and_labels, BTreeMap::new()),
    };
    let value = match value {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v
            .parse()
            .unwrap_or_else(|_| panic!("bad value in {line:?}")),
    };
    MetricSample {
        name: name.to_string(),
        labels,
        value,
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((key, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, other)) => value.push(other),
                    None => {}
                },
                '"' => {
                    end = i + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').trim().to_string(), value);
        rest = &after[end..];
    }
    labels
}

/// A bearer token from the simulator, for asking it questions directly.
pub async fn token(simulator: &Simulator) -> String {
    token_at(&simulator.base_url(), CLIENT_ID, CLIENT_SECRET).await
}

/// A bearer token from the login server at `base`.
pub async fn token_at(base: &str, client_id: &str, client_secret: &str) -> String {
    let response: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/oauth/token"))
        .basic_auth(client_id, Some(client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"].as_str().unwrap().to_string()
}

/// Runs an aggregates query against the simulator directly.
pub async fn aggregates(simulator: &Simulator, body: &serde_json::Value) -> serde_json::Value {
    post(
        simulator,
        "/api/v2/analytics/conversations/aggregates/query",
        body,
    )
    .await
}

/// Runs an aggregates query of `source` against the simulator directly.
pub async fn source_aggregates(
    simulator: &Simulator,
    source: &genesys_cloud_exporter::genesys::sources::Source,
    body: &serde_json::Value,
) -> serde_json::Value {
    post(simulator, &source.aggregates_path(), body).await
}

/// Runs a queue observations query against the simulator directly.
pub async fn observations(simulator: &Simulator, body: &serde_json::Value) -> serde_json::Value {
    post(
        simulator,
        "/api/v2/analytics/queues/observations/query",
        body,
    )
    .await
}

async fn post(simulator: &Simulator, path: &str, body: &serde_json::Value) -> serde_json::Value {
    let token = token(simulator).await;
    reqwest::Client::new()
        .post(format!("{}{path}", simulator.base_url()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A loopback HTTP/1.1 stand-in for an API: every request is answered by `answer`,
/// each connection on its own task. Returns its base URL.
pub async fn loopback<F, R>(answer: F) -> String
where
    F: Fn(hyper::Request<hyper::body::Incoming>) -> R + Clone + Send + Sync + 'static,
    R: std::future::Future<Output = hyper::Response<http_body_util::Full<bytes::Bytes>>>
        + Send
        + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("stand-in listens");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = answer.clone();
            let service = hyper::service::service_fn(move |request| {
                let answered = answer(request);
                async move { Ok::<_, hyper::Error>(answered.await) }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
        }
    });
    base
}
