//! A real Prometheus server (Debian's `prometheus` package) scrapes the exporter in demo
//! mode, and `promtool` lints its output. `.ci/run` installs the package; run these
//! tests on a machine without it and they fail, saying what to install.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::ExporterRun;

/// The one lint the exporter accepts: gauges ending in `_sum`/`_count` that mirror a
/// summary's sum and count for one interval (as the CloudWatch exporters do).
fn is_accepted_lint(line: &str) -> bool {
    let Some((name, problem)) = line.split_once(' ') else {
        return false;
    };
    name.starts_with("genesys_conversation_")
        && (problem == r#"non-histogram and non-summary metrics should not have "_sum" suffix"#
            || problem
                == r#"non-histogram and non-summary metrics should not have "_count" suffix"#)
}

fn tool(name: &str) -> String {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .expect("sh runs");
    assert!(
        found.status.success(),
        "`{name}` is not installed: the end-to-end tests need Debian's prometheus package \
         (apt-get install prometheus); .ci/run installs it"
    );
    String::from_utf8_lossy(&found.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn promtool_accepts_the_exposition() {
    let promtool = tool("promtool");
    let exporter = ExporterRun::demo().start();
    exporter.wait_ready().await;
    let text = reqwest::get(exporter.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("genesys_conversation_handle_seconds_sum"));

    let mut check = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let problems: Vec<&str> = report
        .lines()
        .filter(|line| !line.trim().is_empty() && !is_accepted_lint(line))
        .collect();
    assert!(problems.is_empty(), "promtool check metrics: {problems:#?}");
    // Exit 0 (clean) or 3 (only lint findings, all of them the accepted one); 1 would be
    // a parse error.
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{:?}: {report}",
        output.status
    );
    assert!(
        report.lines().any(is_accepted_lint),
        "the accepted lint should be there: did promtool change?"
    );
}

struct Prometheus {
    child: Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_prometheus(dir: &Path, target: &str) -> Prometheus {
    let binary = tool("prometheus");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: genesys\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
    let child = Command::new(binary)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn instant_query(prometheus: &Prometheus, query: &str) -> Vec<serde_json::Value> {
    let response = reqwest::Client::new()
        .get(format!("{}/api/v1/query", prometheus.url))
        .query(&[("query", query)])
        .send()
        .await;
    let Ok(response) = response else {
        return vec![];
    };
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    assert_ne!(body["status"], "error", "{query}: {body}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_demo_and_answers_average_handle_time_per_queue() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = ExporterRun::demo().start();
    exporter.wait_ready().await;
    let target = exporter.base_url.trim_start_matches("http://").to_string();
    let prometheus = start_prometheus(dir.path(), &target);

    let average_handle_time = "sum by (queue_name) (genesys_conversation_handle_seconds_sum) \
         / sum by (queue_name) (genesys_conversation_handle_seconds_count)";
    let deadline = Instant::now() + Duration::from_secs(90);
    let result = loop {
        let result = instant_query(&prometheus, average_handle_time).await;
        if !result.is_empty() {
            break result;
        }
        assert!(
            Instant::now() < deadline,
            "no data from Prometheus; its log:\n{}",
            std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let averages: Vec<(String, f64)> = result
        .iter()
        .map(|series| {
            let queue = series["metric"]["queue_name"]
                .as_str()
                .unwrap_or("")
                .to_string();
            let value = series["value"][1].as_str().unwrap().parse::<f64>().unwrap();
            (queue, value)
        })
        .collect();
    assert!(averages.len() >= 2, "{averages:?}");
    assert!(
        averages.iter().all(|(queue, _)| !queue.is_empty()),
        "{averages:?}"
    );
    // Realistic handle times: somewhere between ten seconds and an hour.
    assert!(
        averages
            .iter()
            .any(|(_, v)| v.is_finite() && *v > 10.0 && *v < 3600.0),
        "{averages:?}"
    );

    // Prometheus sees the target up, having negotiated a format it parses.
    let up = instant_query(&prometheus, "up{job=\"genesys\"}").await;
    assert_eq!(up.len(), 1);
    assert_eq!(up[0]["value"][1], "1");
}
