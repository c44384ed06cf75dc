//! The deployment files, checked with the real tools: the alert rules with promtool
//! (syntax, unit tests) and against a scrape of the exporter (every metric they name
//! is exported), the Kubernetes manifests rendered by `kubectl kustomize` and validated
//! against the Kubernetes API schemas (kubernetes-validate), and the Dockerfile and
//! manifests scanned by checkov. scripts/test installs the tools: promtool from
//! Debian, checkov and kubernetes-validate into target/venv-deploy, kubectl when missing.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use common::ExporterRun;
use common::prometheus::Prometheus;

const ALERTS: &str = "deploy/prometheus/alerts.yaml";
const ALERT_TESTS: &str = "deploy/prometheus/alerts_test.yaml";
const BASE: &str = "deploy/kubernetes";
const DEMO: &str = "deploy/kubernetes/overlays/demo";
const QUERIES: &str = "deploy/kubernetes/base/queries.yaml";
/// Kinds that come from the Prometheus Operator's CRDs: kubernetes-validate has no
/// schema for them, so `check_operator_objects` checks what matters about them instead.
const OPERATOR_KINDS: [&str; 2] = ["ServiceMonitor", "PrometheusRule"];
/// Series that Prometheus itself records for every target, not the exporter.
const PROMETHEUS_SERIES: [&str; 1] = ["up"];

// ---- alerts ----

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
        for case in test["alert_rule_test"].as_array().expect("alert_rule_test") {
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

#[tokio::test]
async fn alert_expressions_name_only_metrics_the_exporter_exports() {
    // The Kubernetes config, in demo mode: the metrics a deployment really exports.
    let exporter = ExporterRun::demo()
        .arg("--config.file", repo().join(QUERIES).to_string_lossy())
        .start();
    exporter.wait_ready().await;
    let exported: BTreeSet<String> = exporter
        .scrape()
        .await
        .samples
        .into_iter()
        .map(|sample| sample.name)
        .collect();
    for rule in alert_rules() {
        let name = rule["alert"].as_str().expect("alert name");
        let expr = rule["expr"].as_str().expect("expr");
        let used = metric_names(expr);
        assert!(!used.is_empty(), "{name}: no metric found in {expr}");
        for metric in used {
            assert!(
                exported.contains(&metric) || PROMETHEUS_SERIES.contains(&metric.as_str()),
                "{name} uses {metric}, which the exporter does not export"
            );
        }
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
    let alerts = repo().join(ALERTS);
    let prometheus = Prometheus::start_with(
        dir.path(),
        exporter.base_url.trim_start_matches("http://"),
        "genesys-cloud-exporter",
        &[&alerts],
    );

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
    // A few evaluations (one a second) on the scraped data.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rules: Value = reqwest::get(format!("{}/api/v1/rules", prometheus.url))
        .await
        .expect("rules API")
        .json()
        .await
        .expect("rules JSON");
    let groups = rules["data"]["groups"].as_array().expect("groups");
    let evaluated: Vec<&Value> = groups
        .iter()
        .flat_map(|group| group["rules"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(evaluated.len(), alert_rules().len(), "{rules}");
    for rule in evaluated {
        assert_eq!(
            rule["health"], "ok",
            "{}: {}",
            rule["name"], rule["lastError"]
        );
    }
    let exporter_group = groups
        .iter()
        .find(|group| group["name"] == "genesys-cloud-exporter")
        .expect("exporter group");
    for rule in exporter_group["rules"].as_array().expect("rules") {
        assert_eq!(
            rule["state"], "inactive",
            "{} on a healthy exporter",
            rule["name"]
        );
    }
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

// ---- Kubernetes ----

#[test]
fn base_renders_valid_hardened_objects_wired_together() {
    let objects = render(BASE);
    validate_builtin_kinds(&objects);
    check_operator_objects(&objects);

    let deployment = only(&objects, "Deployment");
    assert_eq!(deployment["spec"]["replicas"], 1);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/-/healthy");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/-/ready");
    for resources in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][resources][resource].is_string(),
                "no {resources}.{resource}"
            );
        }
    }

    // The query config: generated, hash-named, the file itself, mounted where the
    // exporter is told to read it.
    let config_map = only(&objects, "ConfigMap");
    let config_name = config_map["metadata"]["name"].as_str().expect("name");
    assert!(config_name.starts_with("genesys-cloud-exporter-config-"));
    assert_eq!(
        config_map["data"]["queries.yaml"],
        std::fs::read_to_string(repo().join(QUERIES)).expect("queries.yaml")
    );
    let config_dir = mount_path(pod, |volume| volume["configMap"]["name"] == config_name);
    let args = strings(&container["args"]);
    assert!(args.contains(&format!("--config.file={config_dir}/queries.yaml")));

    // The user creates the namespace (and the Secret in it): deleting the base must not
    // take a namespace along.
    assert!(of_kind(&objects, "Namespace").is_empty());

    // Credentials: files from the Secret the user creates; the example is not applied.
    assert!(
        of_kind(&objects, "Secret").is_empty(),
        "a Secret is applied"
    );
    let secret_dir = mount_path(pod, |volume| {
        volume["secret"]["secretName"] == "genesys-cloud-exporter-credentials"
    });
    assert!(args.contains(&format!("--genesys.client-id-file={secret_dir}/client-id")));
    assert!(args.contains(&format!(
        "--genesys.client-secret-file={secret_dir}/client-secret"
    )));
    assert!(!args.contains(&"--demo".to_string()));
    let example = yaml_file("deploy/kubernetes/base/secret.example.yaml");
    for value in example["stringData"]
        .as_object()
        .expect("stringData")
        .values()
    {
        assert!(
            value
                .as_str()
                .unwrap_or_default()
                .starts_with("REPLACE-WITH-")
        );
    }

    check_network_policy(&objects);
}

#[test]
fn demo_overlay_runs_the_simulator_without_a_secret() {
    let objects = render(DEMO);
    validate_builtin_kinds(&objects);
    check_operator_objects(&objects);
    let deployment = only(&objects, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let args = strings(&pod["containers"][0]["args"]);
    assert!(args.contains(&"--demo".to_string()), "{args:?}");
    assert!(!args.iter().any(|arg| arg.contains("-file=")), "{args:?}");
    let volumes = pod["volumes"].as_array().expect("volumes");
    assert!(volumes.iter().all(|volume| volume["secret"].is_null()));
    assert!(of_kind(&objects, "Secret").is_empty());
    check_network_policy(&objects);
    // Everything in the demo's own namespace, which the overlay creates.
    let namespace = &only(&objects, "Namespace")["metadata"]["name"];
    for object in objects.iter().filter(|o| o["kind"] != "Namespace") {
        assert_eq!(&object["metadata"]["namespace"], namespace, "{object}");
    }
}

/// The way docs/deployment.md gives to roll the pod on a credentials change: a secretGenerator in
/// the user's own overlay, whose hash-suffixed name the Deployment then refers to.
#[test]
fn a_generated_secret_renames_itself_and_the_pod_template_on_change() {
    // kustomize only loads bases by relative path, so the overlay lives inside the repo.
    let target = repo().join("target");
    std::fs::create_dir_all(&target).expect("target dir");
    let overlay = tempfile::tempdir_in(&target).expect("temp dir");
    std::fs::write(
        overlay.path().join("kustomization.yaml"),
        "resources:
  - ../../deploy/kubernetes/base
secretGenerator:
  - name: genesys-cloud-exporter-credentials
    namespace: genesys-cloud-exporter
    files: [client-id, client-secret]
",
    )
    .expect("kustomization written");
    let secret_name = |secret: &str| {
        std::fs::write(overlay.path().join("client-id"), "id").expect("id written");
        std::fs::write(overlay.path().join("client-secret"), secret).expect("secret written");
        let objects = render(&overlay.path().to_string_lossy());
        let generated = only(&objects, "Secret")["metadata"]["name"].clone();
        let deployment = only(&objects, "Deployment");
        let volumes = deployment["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .expect("volumes");
        let mounted = volumes
            .iter()
            .find_map(|volume| volume["secret"]["secretName"].as_str())
            .expect("secret volume")
            .to_string();
        assert_eq!(generated, mounted.as_str());
        mounted
    };
    let first = secret_name("secret-1");
    let second = secret_name("secret-2");
    assert!(first.starts_with("genesys-cloud-exporter-credentials-"));
    assert_ne!(
        first, second,
        "a changed secret must change the pod template"
    );
}

// ---- container ----

#[test]
fn dockerfile_builds_like_ci_and_exposes_the_served_port() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    let ci = std::fs::read_to_string(repo().join(".ci/run")).expect(".ci/run");
    let builds: Vec<&str> = dockerfile
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.find("cargo build").map(|at| line[at..].trim()))
        .map(|command| command.trim_end_matches('\\').trim())
        .collect();
    assert!(!builds.is_empty());
    for command in builds {
        assert!(ci.contains(command), "CI never runs `{command}`");
    }
    let froms = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert!(froms >= 2, "not a multi-stage build");
    let exposed: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("EXPOSE "))
        .collect();
    let objects = render(BASE);
    let port = &only(&objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["ports"]
        [0]["containerPort"];
    assert_eq!(exposed, [port.to_string()]);
}

#[test]
fn checkov_finds_nothing_unexplained_in_the_dockerfile_and_manifests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut command = Command::new(venv_tool("checkov"));
    command.args([
        "--skip-download",
        "--output",
        "json",
        "--framework",
        "dockerfile",
        "kubernetes",
        "--file",
    ]);
    command.arg(repo().join("Dockerfile"));
    for (name, kustomization) in [("base.yaml", BASE), ("demo.yaml", DEMO)] {
        let path = dir.path().join(name);
        std::fs::write(&path, kustomize(kustomization)).expect("rendered");
        command.arg("--file").arg(path);
    }
    // checkov exits 1 when a check fails; the report says which.
    let output = command.output().expect("checkov runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|err| panic!("checkov output is not JSON ({err}): {stdout}"));
    let reports = match report {
        Value::Array(reports) => reports,
        single => vec![single],
    };
    let frameworks: BTreeSet<&str> = reports
        .iter()
        .filter_map(|r| r["check_type"].as_str())
        .collect();
    assert_eq!(frameworks, BTreeSet::from(["dockerfile", "kubernetes"]));
    for report in &reports {
        let results = &report["results"];
        let failed = results["failed_checks"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let failures: Vec<String> = failed
            .iter()
            .map(|c| {
                format!(
                    "{} {} in {}",
                    c["check_id"], c["check_name"], c["file_path"]
                )
            })
            .collect();
        assert!(failures.is_empty(), "checkov failures: {failures:#?}");
        let passed = results["passed_checks"].as_array().map_or(0, Vec::len);
        assert!(passed > 0, "checkov checked nothing: {report}");
        for skipped in results["skipped_checks"].as_array().into_iter().flatten() {
            let reason = skipped["check_result"]["suppress_comment"]
                .as_str()
                .unwrap_or_default();
            assert!(
                reason.len() > 20,
                "{} skipped without a reason",
                skipped["check_id"]
            );
        }
    }
}

// ---- helpers ----

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs a tool in the repository to success and returns its standard output.
fn run(command: &mut Command) -> String {
    let output = command
        .current_dir(repo())
        .output()
        .unwrap_or_else(|err| panic!("{command:?} does not run ({err}); scripts/test installs it"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{command:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// A Python tool from the venv that scripts/test installs.
fn venv_tool(name: &str) -> PathBuf {
    let path = repo().join("target/venv-deploy/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/test",
        path.display()
    );
    path
}

/// kubectl from PATH, or the one scripts/test installs into the venv when it is missing.
fn kubectl() -> PathBuf {
    let on_path = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|output| output.status.success());
    if on_path {
        PathBuf::from("kubectl")
    } else {
        venv_tool("kubectl")
    }
}

fn kustomize(directory: &str) -> String {
    run(Command::new(kubectl()).arg("kustomize").arg(directory))
}

/// The objects `kubectl kustomize` renders from `directory`.
fn render(directory: &str) -> Vec<Value> {
    yaml_documents(&kustomize(directory))
}

fn yaml_documents(text: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).expect("valid YAML"))
        .filter(|value| !value.is_null())
        .collect()
}

fn yaml_file(path: &str) -> Value {
    let text = std::fs::read_to_string(repo().join(path)).expect("file readable");
    serde_yaml_ng::from_str(&text).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn alert_rules() -> Vec<Value> {
    yaml_file(ALERTS)["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|group| group["rules"].as_array().cloned().unwrap_or_default())
        .filter(|rule| rule["alert"].is_string())
        .collect()
}

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn only<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}");
    found[0]
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

/// Where the container mounts the one volume that `is_it` picks.
fn mount_path(pod: &Value, is_it: impl Fn(&Value) -> bool) -> String {
    let volume = pod["volumes"]
        .as_array()
        .expect("volumes")
        .iter()
        .find(|volume| is_it(volume))
        .expect("volume");
    pod["containers"][0]["volumeMounts"]
        .as_array()
        .expect("volumeMounts")
        .iter()
        .find(|mount| mount["name"] == volume["name"])
        .and_then(|mount| mount["mountPath"].as_str())
        .expect("volume mounted")
        .to_string()
}

/// Validates every object of a built-in kind against the Kubernetes API schemas (strict:
/// unknown fields fail), for the oldest and newest versions kubernetes-validate ships
/// that we support.
fn validate_builtin_kinds(objects: &[Value]) {
    let builtin: Vec<&Value> = objects
        .iter()
        .filter(|o| !OPERATOR_KINDS.contains(&o["kind"].as_str().unwrap_or_default()))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("objects.yaml");
    let text: String = builtin
        .iter()
        .map(|o| format!("---\n{}", serde_yaml_ng::to_string(o).expect("YAML")))
        .collect();
    std::fs::write(&path, text).expect("objects written");
    for version in ["1.29.0", "1.37.0"] {
        let report = run(Command::new(venv_tool("kubernetes-validate"))
            .args(["--strict", "--kubernetes-version", version])
            .arg(&path));
        let passed = report.matches(" passed for resource ").count();
        assert_eq!(passed, builtin.len(), "Kubernetes {version}:\n{report}");
    }
}

/// What matters about the Prometheus Operator objects, which no offline schema covers:
/// the PrometheusRule carries exactly the groups of alerts.yaml (which promtool checks
/// and tests), and the ServiceMonitor selects the Service and scrapes a port it has.
fn check_operator_objects(objects: &[Value]) {
    let rule = only(objects, "PrometheusRule");
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(
        rule["spec"]["groups"],
        yaml_file(ALERTS)["groups"],
        "prometheusrule.yaml differs from alerts.yaml: run scripts/gen-prometheusrule"
    );

    let monitor = only(objects, "ServiceMonitor");
    let service = only(objects, "Service");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(
        monitor["metadata"]["namespace"],
        service["metadata"]["namespace"]
    );
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("matchLabels");
    assert!(!selector.is_empty());
    for (key, value) in selector {
        assert_eq!(&service["metadata"]["labels"][key], value, "label {key}");
    }
    let ports: BTreeSet<&str> = service["spec"]["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for endpoint in monitor["spec"]["endpoints"].as_array().expect("endpoints") {
        let port = endpoint["port"].as_str().expect("named port");
        assert!(ports.contains(port), "the Service has no port {port}");
    }
}

/// In: only the metrics port. Out: only HTTPS and DNS.
fn check_network_policy(objects: &[Value]) {
    let policy = only(objects, "NetworkPolicy");
    let ports = |rules: &Value| -> BTreeSet<String> {
        rules
            .as_array()
            .expect("rules")
            .iter()
            .flat_map(|rule| rule["ports"].as_array().cloned().unwrap_or_default())
            .map(|port| format!("{}/{}", port["port"], port["protocol"]))
            .collect()
    };
    assert_eq!(
        ports(&policy["spec"]["ingress"]),
        BTreeSet::from([r#""metrics"/"TCP""#.to_string()])
    );
    let egress: BTreeSet<String> = [r#"443/"TCP""#, r#"53/"UDP""#, r#"53/"TCP""#]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(ports(&policy["spec"]["egress"]), egress);
    let types = strings(&policy["spec"]["policyTypes"]);
    assert_eq!(types, ["Ingress", "Egress"]);
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
