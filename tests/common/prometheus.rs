//! A real Prometheus server (Debian's `prometheus` package) for end-to-end tests: started
//! on a free loopback port with its data in a temporary directory, scraping one target,
//! queried over its HTTP API.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Exporter, ExporterRun};

/// How often the test Prometheus scrapes: short, so that rates have samples within
/// seconds.
pub const SCRAPE_INTERVAL: Duration = Duration::from_secs(1);

/// The job name the test Prometheus gives its one target.
pub const JOB: &str = "genesys";

/// The path of a tool on `PATH`; fails the test, saying what to install, when missing.
pub fn tool(name: &str) -> String {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .expect("sh runs");
    assert!(
        found.status.success(),
        "`{name}` is not installed: the end-to-end tests need Debian's prometheus package \
         (apt-get install prometheus); scripts/test installs it"
    );
    String::from_utf8_lossy(&found.stdout).trim().to_string()
}

/// A running Prometheus server, killed when dropped.
pub struct Prometheus {
    child: Child,
    pub url: String,
    log: PathBuf,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("a local address")
        .port()
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (`host:port`) every [`SCRAPE_INTERVAL`] as job
    /// [`JOB`], keeping its configuration, data and log in `dir`.
    pub fn start(dir: &Path, target: &str) -> Prometheus {
        Prometheus::start_with(dir, target, JOB, &[])
    }

    /// Like [`Prometheus::start`], with another job name and rule files to evaluate
    /// (every [`SCRAPE_INTERVAL`] too).
    pub fn start_with(dir: &Path, target: &str, job: &str, rule_files: &[&Path]) -> Prometheus {
        let every = format!("{}s", SCRAPE_INTERVAL.as_secs());
        let rules: Vec<String> = rule_files
            .iter()
            .map(|path| format!("'{}'", path.display()))
            .collect();
        Prometheus::spawn(
            dir,
            &format!(
                "global:\n  scrape_interval: {every}\n  evaluation_interval: {every}\nrule_files: [{}]\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n",
                rules.join(", ")
            ),
        )
    }

    /// Loads the OpenMetrics file `backfill` into blocks with promtool (in `dir`/data)
    /// and starts Prometheus on them alone, scraping nothing.
    pub fn on_backfill(dir: &Path, openmetrics: &Path) -> Prometheus {
        Prometheus::on_backfills(dir, &[openmetrics])
    }

    /// [`Prometheus::on_backfill`] of several files, loaded one by one into the same
    /// data directory, as `backfill --output-dir`'s day files are.
    pub fn on_backfills(dir: &Path, files: &[&Path]) -> Prometheus {
        for openmetrics in files {
            let created = Command::new(tool("promtool"))
                .args(["tsdb", "create-blocks-from", "openmetrics"])
                .arg(openmetrics)
                .arg(dir.join("data"))
                .output()
                .expect("promtool runs");
            assert!(
                created.status.success(),
                "promtool refused the backfill {}: {}{}",
                openmetrics.display(),
                String::from_utf8_lossy(&created.stdout),
                String::from_utf8_lossy(&created.stderr)
            );
        }
        Prometheus::spawn(dir, "scrape_configs: []\n")
    }

    /// Starts Prometheus with `config` on a free port, its data in `dir`/data.
    fn spawn(dir: &Path, config_text: &str) -> Prometheus {
        let binary = tool("prometheus");
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, config_text).expect("prometheus.yml written");
        let port = free_port();
        let log = dir.join("prometheus.log");
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file created"))
            .spawn()
            .expect("prometheus starts");
        Prometheus {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        }
    }

    /// What Prometheus has logged, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Calls `GET /api/v1/{path}`: the `data` of a successful answer, or the error
    /// Prometheus gave (or why there was no answer).
    pub async fn api(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<serde_json::Value, String> {
        let response = reqwest::Client::new()
            .get(format!("{}/api/v1/{path}", self.url))
            .query(params)
            .send()
            .await
            .map_err(|err| format!("no answer from Prometheus: {err}"))?;
        let body: serde_json::Value = response
            .json()
            .await
            // While it starts, Prometheus answers 503 with a plain-text body.
            .map_err(|err| format!("no answer from Prometheus yet (not JSON: {err})"))?;
        if body["status"] == "success" {
            Ok(body["data"].clone())
        } else {
            Err(format!("{}: {}", body["errorType"], body["error"]))
        }
    }

    /// The series an instant query returns now; none while Prometheus is starting. An
    /// expression Prometheus rejects fails the test.
    pub async fn instant_query(&self, query: &str) -> Vec<serde_json::Value> {
        match self.api("query", &[("query", query.to_string())]).await {
            Ok(data) => data["result"].as_array().cloned().unwrap_or_default(),
            Err(err) if err.starts_with("no answer") => vec![],
            Err(err) => panic!("{query}: {err}"),
        }
    }

    /// The series an instant query returns at Unix time `at`; none while Prometheus is
    /// starting.
    pub async fn query_at(&self, query: &str, at: f64) -> Vec<serde_json::Value> {
        match self
            .api(
                "query",
                &[("query", query.to_string()), ("time", at.to_string())],
            )
            .await
        {
            Ok(data) => data["result"].as_array().cloned().unwrap_or_default(),
            Err(err) if err.starts_with("no answer") => vec![],
            Err(err) => panic!("{query}: {err}"),
        }
    }

    /// Waits (up to `timeout`) until `query` at Unix time `at` returns a series.
    pub async fn wait_for_at(&self, query: &str, at: f64, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while self.query_at(query, at).await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "no answer to {query} at {at} from Prometheus; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits (up to `timeout`) until `query` returns at least one series, and returns them.
    pub async fn wait_for(&self, query: &str, timeout: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.instant_query(query).await;
            if !result.is_empty() {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "no answer to {query} from Prometheus; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The exporter in demo mode, ready, and a Prometheus (files in `dir`) scraping it.
pub async fn scraping_the_demo(dir: &Path) -> (Exporter, Prometheus) {
    scraping_the_demo_with(dir, ExporterRun::demo()).await
}

/// The same with the exporter run as `run` says (a config file, flags).
pub async fn scraping_the_demo_with(dir: &Path, run: ExporterRun<'_>) -> (Exporter, Prometheus) {
    let exporter = run.start();
    exporter.wait_ready().await;
    let target = exporter.base_url.trim_start_matches("http://").to_string();
    let prometheus = Prometheus::start(dir, &target);
    (exporter, prometheus)
}
