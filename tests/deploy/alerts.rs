//! The alert rules: promtool checks and unit tests, every alert annotated and linked to
//! its runbook section, the job named in one rule, and a real Prometheus evaluating them
//! on the demo.

use std::time::{Duration, Instant};

use super::*;
use crate::common::prometheus::Prometheus;
use crate::common::{Exporter, ExporterRun};

const ALERT_TESTS: &str = "deploy/prometheus/alerts_test.yaml";
const RUNBOOK: &str = "docs/runbook.md";

/// The recording rule that selects the exporter's scrape job: the one place that names it.
const JOB_RULE: &str = "genesys_exporter:up";
/// Series that Prometheus itself records for every target, not the exporter.
const PROMETHEUS_SERIES: [&str; 1] = ["up"];

#[test]
fn alert_rules_pass_promtool_check_and_unit_tests() {
    let checked = run(Command::new("promtool").args(["check", "rules", ALERTS]));
    assert!(checked.contains("SUCCESS"), "{checked}");
    let tested = run(Command::new("promtool").args(["test", "rules", ALERT_TESTS]));
    assert!(tested.contains("SUCCESS"), "{tested}");
}

#[test]
fn every_alert_is_unit_tested_firing_and_quiet_and_annotated() {
    let alerts = alert_rules();
    assert!(!alerts.is_empty());
    let tests = yaml_file(ALERT_TESTS);
    let mut firing = BTreeSet::new();
    let mut quiet = BTreeSet::new();
    for test in tests["tests"].as_array().expect("tests") {
        // A test of recording rules alone has promql_expr_test and no alert_rule_test.
        for case in test["alert_rule_test"].as_array().into_iter().flatten() {
            let name = case["alertname"].as_str().expect("alertname").to_string();
            match case["exp_alerts"].as_array() {
                Some(expected) if !expected.is_empty() => firing.insert(name),
                _ => quiet.insert(name),
            };
        }
    }
    for rule in &alerts {
        let name = rule["alert"].as_str().expect("alert name");
        assert!(firing.contains(name), "{name} is never shown firing");
        assert!(quiet.contains(name), "{name} is never shown quiet");
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        for annotation in ["summary", "description"] {
            let text = rule["annotations"][annotation].as_str().unwrap_or_default();
            assert!(!text.trim().is_empty(), "{name} has no {annotation}");
        }
    }
}

/// Every `runbook_url` leads to a section of docs/runbook.md, under the repository's
/// address in Cargo.toml, and each section says what the alert means, how to check it
/// and how to fix it.
#[test]
fn every_alert_links_to_its_runbook_section() {
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).expect("Cargo.toml");
    let repository = manifest
        .lines()
        .find_map(|line| line.strip_prefix("repository = "))
        .expect("a repository in Cargo.toml")
        .trim_matches('"');
    let prefix = format!("{repository}/blob/main/{RUNBOOK}#");
    let sections =
        markdown_sections(&std::fs::read_to_string(repo().join(RUNBOOK)).expect(RUNBOOK));
    for rule in alert_rules() {
        let name = rule["alert"].as_str().expect("alert name");
        let url = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_default();
        let anchor = url
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{name}: runbook_url {url:?} is not under {prefix}"));
        let body = sections
            .get(anchor)
            .unwrap_or_else(|| panic!("{name}: {RUNBOOK} has no section #{anchor}"));
        for part in ["**What it means.**", "**How to check.**", "**How to fix.**"] {
            assert!(body.contains(part), "{name}: its section has no {part}");
        }
    }
}

/// The scrape job is named once, by the recording rule the exporter-down alerts read,
/// so a user whose job has another name changes one line.
#[test]
fn the_job_selector_is_one_rule() {
    let rules = all_rules();
    let naming_the_job: Vec<String> = rules
        .iter()
        .filter(|rule| rule["expr"].as_str().unwrap_or_default().contains("job="))
        .map(|rule| {
            rule["record"]
                .as_str()
                .or(rule["alert"].as_str())
                .unwrap_or("?")
                .to_string()
        })
        .collect();
    assert_eq!(naming_the_job, [JOB_RULE]);
    for alert in ["GenesysExporterDown", "GenesysExporterAbsent"] {
        let rule = rules.iter().find(|r| r["alert"] == alert).expect(alert);
        let used = metric_names(rule["expr"].as_str().expect("expr"));
        assert_eq!(used, BTreeSet::from([JOB_RULE.to_string()]), "{alert}");
    }
}

/// Every rule, alert or recording, reads only series the exporter exports (or Prometheus
/// records): those of the Kubernetes config, the metrics a deployment really exports, and
/// those of the demo's built-in config, which runs a query of every source and the agents
/// observation set that the contact-center rules and alerts read.
#[tokio::test]
async fn rules_name_only_metrics_the_exporter_exports() {
    let kubernetes = ExporterRun::demo()
        .arg("--config.file", repo().join(QUERIES).to_string_lossy())
        .start();
    let demo = ExporterRun::demo().start();
    let mut exported = BTreeSet::new();
    for exporter in [&kubernetes, &demo] {
        exporter.wait_ready().await;
        exported.extend(
            exporter
                .scrape()
                .await
                .samples
                .into_iter()
                .map(|sample| sample.name),
        );
    }
    let recorded = recorded_names();
    for rule in all_rules() {
        let name = rule["alert"]
            .as_str()
            .or(rule["record"].as_str())
            .expect("alert or record");
        let expr = rule["expr"].as_str().expect("expr");
        let used = metric_names(expr);
        assert!(!used.is_empty(), "{name}: no metric found in {expr}");
        for metric in used {
            assert!(
                exported.contains(&metric)
                    || PROMETHEUS_SERIES.contains(&metric.as_str())
                    || recorded.contains(&metric),
                "{name} uses {metric}, which the exporter does not export"
            );
        }
    }
}

/// The ratios on real series: a Prometheus that loads alerts.yaml and scrapes the demo
/// with its built-in config (a query of every source, the agents observation set) records
/// a value for every recording rule, and evaluates every rule without error (a
/// vector-matching mistake between two sources' label sets only shows on real ones).
#[tokio::test(flavor = "multi_thread")]
async fn every_recording_rule_records_a_value_from_the_demo() {
    let exporter = ExporterRun::demo().start();
    exporter.wait_ready().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let prometheus = evaluating_the_rules_on(&exporter, dir.path());
    for name in recorded_names() {
        prometheus.wait_for(&name, Duration::from_secs(60)).await;
    }
    for rule in evaluated_rules(&prometheus).await {
        assert_eq!(
            rule["health"], "ok",
            "{}: {}",
            rule["name"], rule["lastError"]
        );
    }
}

/// promtool's unit tests use series written by hand; this runs the rules on real ones. A
/// real Prometheus loads alerts.yaml and scrapes the exporter in demo mode as job
/// genesys-cloud-exporter: every rule evaluates without error (a vector-matching
/// mistake only shows on real label sets), and no exporter alert is active.
#[tokio::test(flavor = "multi_thread")]
async fn a_real_prometheus_evaluates_the_alerts_on_the_demo_without_error() {
    let exporter = ExporterRun::demo()
        .arg("--config.file", repo().join(QUERIES).to_string_lossy())
        .start();
    exporter.wait_ready().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let prometheus = evaluating_the_rules_on(&exporter, dir.path());

    let deadline = Instant::now() + Duration::from_secs(60);
    while prometheus
        .instant_query(r#"up{job="genesys-cloud-exporter"} == 1"#)
        .await
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "never scraped:\n{}",
            prometheus.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The job selector picks the target Prometheus scrapes as job genesys-cloud-exporter.
    prometheus
        .wait_for(&format!("{JOB_RULE} == 1"), Duration::from_secs(30))
        .await;
    // A few evaluations (one a second) on the scraped data.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let evaluated = evaluated_rules(&prometheus).await;
    assert_eq!(
        evaluated.len(),
        alert_rules().len() + recorded_names().len(),
        "{evaluated:#?}"
    );
    for rule in &evaluated {
        assert_eq!(
            rule["health"], "ok",
            "{}: {}",
            rule["name"], rule["lastError"]
        );
    }
    let alerting = evaluated
        .iter()
        .filter(|rule| rule["group"] == "genesys-cloud-exporter" && rule["type"] == "alerting");
    for rule in alerting {
        assert_eq!(
            rule["state"], "inactive",
            "{} on a healthy exporter",
            rule["name"]
        );
    }
}

/// A Prometheus (files in `dir`) that loads alerts.yaml and scrapes `exporter` as job
/// genesys-cloud-exporter, the job the rules select.
fn evaluating_the_rules_on(exporter: &Exporter, dir: &std::path::Path) -> Prometheus {
    Prometheus::start_with(
        dir,
        exporter.base_url.trim_start_matches("http://"),
        "genesys-cloud-exporter",
        &[&repo().join(ALERTS)],
    )
}

/// Every rule Prometheus evaluates, each with the name of its group as `group`.
async fn evaluated_rules(prometheus: &Prometheus) -> Vec<Value> {
    let rules: Value = reqwest::get(format!("{}/api/v1/rules", prometheus.url))
        .await
        .expect("rules API")
        .json()
        .await
        .expect("rules JSON");
    let groups = rules["data"]["groups"].as_array().expect("groups");
    groups
        .iter()
        .flat_map(|group| {
            group["rules"].as_array().into_iter().flatten().map(|rule| {
                let mut rule = rule.clone();
                rule["group"] = group["name"].clone();
                rule
            })
        })
        .collect()
}

#[test]
fn metric_names_skips_functions_labels_keywords_and_durations() {
    let expr = r#"sum by (job, instance) (rate(a_total{code="4}29", x=~'y'}[5m] offset 1h))
        / on (job) group_left (queue) b:recorded > bool 0.5 or absent(c) unless d @ start()
        and Inf > NaN"#;
    let expected: BTreeSet<String> = ["a_total", "b:recorded", "c", "d"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(metric_names(expr), expected);
}

/// Every rule of alerts.yaml, recording rules included.
pub(crate) fn all_rules() -> Vec<Value> {
    yaml_file(ALERTS)["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

fn alert_rules() -> Vec<Value> {
    all_rules()
        .into_iter()
        .filter(|rule| rule["alert"].is_string())
        .collect()
}

/// The names of the recording rules in alerts.yaml, which its alerts may read.
fn recorded_names() -> BTreeSet<String> {
    all_rules()
        .iter()
        .filter_map(|rule| rule["record"].as_str().map(String::from))
        .collect()
}

/// The metric names in a PromQL expression. A small tokenizer rather than a parser:
/// identifiers count unless they call a function or aggregation (followed by `(`), are
/// keywords, or are label names (inside `{...}` or the list after `by`, `on`, ...);
/// strings, range and subquery brackets, numbers and durations are skipped.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: [&str; 8] = [
        "and", "or", "unless", "offset", "bool", "atan2", "inf", "nan",
    ];
    const LABEL_LISTS: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' || c == '\'' || c == '`' {
            i = skip_string(&chars, i);
        } else if c == '{' || c == '[' {
            i = skip_group(&chars, i);
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c.is_ascii_digit() || c == '.' {
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_:".contains(chars[i])) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let opens_paren = chars.get(next) == Some(&'(');
            // `sum by (...)`: an aggregation whose grouping comes first.
            let rest: String = chars[next..].iter().take(8).collect();
            let groups_first = ["by", "without"].iter().any(|keyword| {
                rest.strip_prefix(keyword)
                    .is_some_and(|after| after.starts_with(|c: char| c == '(' || c.is_whitespace()))
            });
            let lower = word.to_ascii_lowercase();
            if LABEL_LISTS.contains(&lower.as_str()) {
                if opens_paren {
                    i = skip_group(&chars, next);
                }
            } else if !opens_paren && !groups_first && !KEYWORDS.contains(&lower.as_str()) {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// The index just past the string literal that starts at `start`.
fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() && chars[i] != quote {
        if chars[i] == '\\' && quote != '`' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// The index just past the bracket group (`{}`, `[]` or `()`) that opens at `start`,
/// strings inside it included.
fn skip_group(chars: &[char], start: usize) -> usize {
    let close = match chars[start] {
        '{' => '}',
        '[' => ']',
        _ => ')',
    };
    let mut i = start + 1;
    while i < chars.len() && chars[i] != close {
        if "\"'`".contains(chars[i]) {
            i = skip_string(chars, i);
        } else {
            i += 1;
        }
    }
    i + 1
}

/// The sections of a Markdown file by their GitHub anchor (the heading lower-cased,
/// spaces as `-`, punctuation but `-` and `_` dropped), each with its text.
fn markdown_sections(text: &str) -> std::collections::BTreeMap<String, String> {
    let mut sections = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            let anchor: String = heading
                .trim()
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect();
            sections.insert(anchor.clone(), String::new());
            current = Some(anchor);
        } else if let Some(anchor) = &current {
            let body = sections.get_mut(anchor).expect("section");
            body.push_str(line);
            body.push('\n');
        }
    }
    sections
}
