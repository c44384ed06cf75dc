//! A real Prometheus server (Debian's `prometheus` package) scrapes the exporter in demo
//! mode, and `promtool` lints its output. `scripts/test` installs the package; run these
//! tests on a machine without it and they fail, saying what to install.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::ExporterRun;
use common::prometheus::{JOB, scraping_the_demo, tool};
use genesys_cloud_exporter::genesys::sources::SOURCES;

/// The lints the exporter accepts: gauges of an aggregates source ending in
/// `_sum`/`_count` that mirror a summary's sum and count for one interval (as the
/// CloudWatch exporters do; `genesys_flow_count` is the count of `nFlow`, the flows
/// entered in the interval, by the naming rule of docs/sources.md), and the voice MOS
/// histogram of one interval's calls, whose `_bucket{le}`, `_sum` and `_count` are
/// gauges in the same style (`histogram_quantile` reads them all the same).
fn is_accepted_lint(line: &str) -> bool {
    let Some((name, problem)) = line.split_once(' ') else {
        return false;
    };
    let histogram_part = |suffix: &str| {
        problem
            == format!(r#"non-histogram and non-summary metrics should not have "{suffix}" suffix"#)
    };
    if name == "genesys_voice_mos_bucket" {
        return problem == r#"non-histogram metrics should not have "_bucket" suffix"#
            || problem == r#"non-histogram metrics should not have "le" label"#;
    }
    if ["genesys_voice_mos_sum", "genesys_voice_mos_count"].contains(&name) {
        return histogram_part("_sum") || histogram_part("_count");
    }
    SOURCES
        .iter()
        .any(|source| name.starts_with(&source.prefix()))
        && (problem == r#"non-histogram and non-summary metrics should not have "_sum" suffix"#
            || problem
                == r#"non-histogram and non-summary metrics should not have "_count" suffix"#)
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

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_the_demo_and_answers_average_handle_time_per_queue() {
    let dir = tempfile::tempdir().unwrap();
    // `_exporter` keeps the exporter running until the end of the test.
    let (_exporter, prometheus) = scraping_the_demo(dir.path()).await;

    let average_handle_time = "sum by (queue_name) (genesys_conversation_handle_seconds_sum) \
         / sum by (queue_name) (genesys_conversation_handle_seconds_count)";
    let result = prometheus
        .wait_for(average_handle_time, Duration::from_secs(90))
        .await;
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
    let up = prometheus
        .instant_query(&format!("up{{job=\"{JOB}\"}}"))
        .await;
    assert_eq!(up.len(), 1);
    assert_eq!(up[0]["value"][1], "1");
}
