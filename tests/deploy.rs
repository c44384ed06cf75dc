//! The deployment files, checked with the real tools: the alert rules with promtool
//! (syntax, unit tests) and against a scrape of the exporter (every metric they name
//! is exported), the Kubernetes manifests rendered by `kubectl kustomize` and validated
//! against the Kubernetes API schemas (kubernetes-validate), and the Dockerfile and
//! manifests scanned by checkov. scripts/test installs the tools: promtool from
//! Debian, checkov and kubernetes-validate into target/venv-deploy, kubectl when missing.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;

use common::ExporterRun;
use common::prometheus::Prometheus;

const ALERTS: &str = "deploy/prometheus/alerts.yaml";
const ALERT_TESTS: &str = "deploy/prometheus/alerts_test.yaml";
const RUNBOOK: &str = "docs/runbook.md";
const QUICKSTART: &str = "docs/quickstart.md";
const COMPOSE: &str = "deploy/compose/compose.yaml";
const CI_WORKFLOW: &str = ".github/workflows/ci.yml";
const RELEASE_WORKFLOW: &str = ".github/workflows/release.yml";
/// The recording rule that selects the exporter's scrape job: the one place that names it.
const JOB_RULE: &str = "genesys_exporter:up";
const BASE: &str = "deploy/kubernetes";
const DEMO: &str = "deploy/kubernetes/overlays/demo";
const QUERIES: &str = "deploy/kubernetes/base/queries.yaml";
/// The kustomize Components a user adds to the base for their kind of Prometheus.
const OPERATOR_COMPONENT: &str = "deploy/kubernetes/components/prometheus-operator";
const PLAIN_COMPONENT: &str = "deploy/kubernetes/components/plain-prometheus";
/// The API group of the Prometheus Operator's CRDs: kubernetes-validate has no schema
/// for them, so `check_operator_objects` checks what matters about them instead.
const OPERATOR_GROUP: &str = "monitoring.coreos.com/";
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
    let recorded = recorded_names();
    for rule in alert_rules() {
        let name = rule["alert"].as_str().expect("alert name");
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
    // The job selector picks the target Prometheus scrapes as job genesys-cloud-exporter.
    prometheus
        .wait_for(&format!("{JOB_RULE} == 1"), Duration::from_secs(30))
        .await;
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
    assert_eq!(
        evaluated.len(),
        alert_rules().len() + recorded_names().len(),
        "{rules}"
    );
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
    let alerting = exporter_group["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter(|rule| rule["type"] == "alerting");
    for rule in alerting {
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
    // Built-in kinds only, so that it applies on a cluster without the Operator's CRDs.
    let kinds: BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "ConfigMap",
            "Deployment",
            "NetworkPolicy",
            "Service",
            "ServiceAccount"
        ])
    );
    assert!(operator_objects(&objects).is_empty());
    validate_builtin_kinds(&objects);

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
    assert!(operator_objects(&objects).is_empty());
    validate_builtin_kinds(&objects);
    let deployment = only(&objects, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    // The image `kind load` or `minikube image load` put on the node, never pulled.
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "IfNotPresent");
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

#[test]
fn the_operator_component_adds_a_service_monitor_and_the_alerts() {
    let objects = render(&user_overlay(&format!("components: [../../{OPERATOR_COMPONENT}]")).path);
    assert_eq!(operator_objects(&objects).len(), 2);
    validate_builtin_kinds(&objects);
    check_operator_objects(&objects);
    check_network_policy(&objects);
}

#[test]
fn the_plain_prometheus_component_annotates_the_pod_only() {
    let objects = render(&user_overlay(&format!("components: [../../{PLAIN_COMPONENT}]")).path);
    assert!(operator_objects(&objects).is_empty());
    validate_builtin_kinds(&objects);
    let deployment = only(&objects, "Deployment");
    let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    let port = &deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0];
    assert_eq!(
        annotations["prometheus.io/port"],
        port["containerPort"].to_string()
    );
    // Not the Service too: a pods job and a service-endpoints job would both scrape it,
    // and every sum on the dashboards would double.
    let service = only(&objects, "Service");
    let service_annotations = service["metadata"]["annotations"].to_string();
    assert!(!service_annotations.contains("prometheus.io"), "{service}");
}

/// The NetworkPolicy's scrapers are one list, which a user's overlay replaces with the
/// JSON patch its comment (and docs/quickstart.md) shows.
#[test]
fn the_allowed_scrapers_are_one_patchable_list() {
    let default = render(BASE);
    let scrapers = |objects: &[Value]| {
        strings(
            &only(objects, "NetworkPolicy")["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"]
                [0]["values"],
        )
    };
    let allowed = scrapers(&default);
    for scraper in ["prometheus", "alloy", "vmagent", "opentelemetry-collector"] {
        assert!(allowed.contains(&scraper.to_string()), "{allowed:?}");
    }
    let patched = render(
        &user_overlay(
            "patches:
  - target: {kind: NetworkPolicy, name: genesys-cloud-exporter}
    patch: |-
      - op: replace
        path: /spec/ingress/0/from/0/podSelector/matchExpressions/0/values
        value: [my-scraper]
",
        )
        .path,
    );
    assert_eq!(scrapers(&patched), ["my-scraper"]);
    check_network_policy(&patched);
    let policy = std::fs::read_to_string(repo().join("deploy/kubernetes/base/networkpolicy.yaml"))
        .expect("networkpolicy.yaml");
    assert!(policy.contains("path: /spec/ingress/0/from/0/podSelector/matchExpressions/0/values"));
}

/// The way the docs give to roll the pod on a credentials change: a secretGenerator in
/// the user's own overlay, whose hash-suffixed name the Deployment then refers to.
#[test]
fn a_generated_secret_renames_itself_and_the_pod_template_on_change() {
    let overlay = user_overlay(
        "secretGenerator:
  - name: genesys-cloud-exporter-credentials
    namespace: genesys-cloud-exporter
    files: [client-id, client-secret]
",
    );
    let secret_name = |secret: &str| {
        std::fs::write(overlay.dir.path().join("client-id"), "id").expect("id written");
        std::fs::write(overlay.dir.path().join("client-secret"), secret).expect("secret written");
        let objects = render(&overlay.path);
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
    let operator = user_overlay(&format!("components: [../../{OPERATOR_COMPONENT}]"));
    let plain = user_overlay(&format!("components: [../../{PLAIN_COMPONENT}]"));
    for (name, kustomization) in [
        ("base.yaml", BASE),
        ("demo.yaml", DEMO),
        ("operator.yaml", &operator.path),
        ("plain.yaml", &plain.path),
    ] {
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

// ---- Compose quickstart ----

#[test]
fn the_compose_file_passes_the_compose_specification_schema() {
    // A misspelt service key must fail the same check.
    check_schema(
        "vendor.compose-spec",
        &[COMPOSE],
        ("    command:", "    commands:"),
    );
}

/// The quickstart wired together: every file it mounts exists, the exporter runs the
/// demo, Prometheus scrapes it as the job the alerts select and loads the alerts (its
/// config, as the container sees it, passes promtool), and Grafana's data source and
/// dashboard provider point at the Prometheus service and the mounted dashboards.
#[test]
fn the_compose_quickstart_mounts_real_files_and_wires_the_services() {
    let compose = yaml_file(COMPOSE);
    let compose_dir = repo().join(COMPOSE).parent().expect("dir").to_path_buf();
    let services = compose["services"].as_object().expect("services");
    let named_volumes = compose["volumes"].as_object().cloned().unwrap_or_default();
    let mut mounts: std::collections::BTreeMap<(String, String), PathBuf> = Default::default();
    for (service, definition) in services {
        for volume in definition["volumes"].as_array().into_iter().flatten() {
            let spec = volume.as_str().expect("short volume syntax");
            let mut parts = spec.split(':');
            let (source, target) = (parts.next().expect("source"), parts.next().expect("target"));
            if source.starts_with('.') || source.starts_with('/') {
                let path = compose_dir.join(source);
                assert!(
                    path.exists(),
                    "{service} mounts {source}, which does not exist"
                );
                mounts.insert((service.clone(), target.to_string()), path);
            } else {
                assert!(
                    named_volumes.contains_key(source),
                    "{service}: undeclared volume {source}"
                );
            }
        }
    }

    let exporter = &services["exporter"];
    assert_eq!(exporter["build"]["context"], "../..");
    assert!(strings(&exporter["command"]).contains(&"--demo".to_string()));

    // Prometheus's files laid out as in its container, then checked there.
    let root = tempfile::tempdir().expect("temp dir");
    for ((service, target), source) in &mounts {
        if service == "prometheus" && source.is_file() {
            let dest = root.path().join(target.trim_start_matches('/'));
            std::fs::create_dir_all(dest.parent().expect("parent")).expect("dirs");
            std::fs::copy(source, &dest).expect("copied");
        }
    }
    let command = strings(&services["prometheus"]["command"]);
    let config = command
        .iter()
        .find_map(|arg| arg.strip_prefix("--config.file="))
        .expect("--config.file");
    let config_path = root.path().join(config.trim_start_matches('/'));
    let checked = run(Command::new("promtool")
        .arg("check")
        .arg("config")
        .arg(&config_path));
    assert!(checked.contains("SUCCESS"), "{checked}");
    assert!(
        checked.contains(&format!("{} rules found", all_rules().len())),
        "the alerts are not loaded: {checked}"
    );
    let prometheus_config: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&config_path).expect("prometheus.yml"))
            .expect("prometheus.yml YAML");
    let job = &prometheus_config["scrape_configs"][0];
    assert_eq!(job["job_name"], "genesys-cloud-exporter", "the alerts' job");
    let targets = strings(&job["static_configs"][0]["targets"]);
    assert_eq!(targets, ["exporter:9471"]);

    // Grafana: the provisioning and dashboards of the repository, where they point.
    let grafana_mount = |target: &str| {
        mounts
            .get(&("grafana".to_string(), target.to_string()))
            .unwrap_or_else(|| panic!("grafana has nothing at {target}"))
            .canonicalize()
            .expect("path")
    };
    assert_eq!(
        grafana_mount("/etc/grafana/provisioning"),
        repo()
            .join("grafana/provisioning")
            .canonicalize()
            .expect("path")
    );
    let provider = yaml_file("grafana/provisioning/dashboards/genesys.yaml");
    let dashboards_path = provider["providers"][0]["options"]["path"]
        .as_str()
        .expect("path");
    assert_eq!(
        grafana_mount(dashboards_path),
        repo()
            .join("grafana/dashboards")
            .canonicalize()
            .expect("path")
    );
    let datasource = yaml_file("grafana/provisioning/datasources/prometheus.yaml");
    assert_eq!(
        datasource["datasources"][0]["url"],
        "http://prometheus:9090"
    );
    let home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
        .as_str()
        .expect("home dashboard");
    let home_file = home
        .strip_prefix(dashboards_path)
        .expect("under the dashboards");
    assert!(
        repo()
            .join("grafana/dashboards")
            .join(home_file.trim_start_matches('/'))
            .is_file()
    );
}

// ---- plain Prometheus ----

/// The scrape configs that docs/quickstart.md gives for a plain Prometheus (static, TLS,
/// basic auth): each a complete `scrape_configs` that promtool accepts, scraping one
/// exporter as the job the alerts select.
#[test]
fn the_documented_scrape_configs_pass_promtool() {
    let doc = std::fs::read_to_string(repo().join(QUICKSTART)).expect(QUICKSTART);
    let blocks: Vec<String> = fenced_blocks(&doc, "yaml")
        .into_iter()
        .filter(|block| block.starts_with("scrape_configs:"))
        .collect();
    assert_eq!(blocks.len(), 3, "static, TLS and basic auth");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut seen = BTreeSet::new();
    for (index, block) in blocks.iter().enumerate() {
        let config: Value = serde_yaml_ng::from_str(block).expect("YAML");
        // promtool checks that the certificate and key files exist: the user's own, here
        // empty stand-ins at the relative paths the example gives.
        let variant = dir.path().join(index.to_string());
        std::fs::create_dir_all(&variant).expect("dir");
        for file in file_settings(&config) {
            assert!(
                !file.starts_with('/'),
                "{file}: relative to prometheus.yml, please"
            );
            let path = variant.join(&file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
            std::fs::write(path, "").expect("stand-in written");
        }
        let path = variant.join("prometheus.yml");
        std::fs::write(&path, block).expect("written");
        let checked = run(Command::new("promtool")
            .arg("check")
            .arg("config")
            .arg(&path));
        assert!(checked.contains("SUCCESS"), "{block}\n{checked}");
        let jobs = config["scrape_configs"].as_array().expect("jobs");
        assert_eq!(jobs.len(), 1, "one job per variant: {block}");
        assert_eq!(jobs[0]["job_name"], "genesys-cloud-exporter");
        if !jobs[0]["basic_auth"].is_null() {
            seen.insert("basic auth");
            assert_eq!(jobs[0]["scheme"], "https", "basic auth in the clear");
            assert!(
                jobs[0]["basic_auth"]["password"].is_null(),
                "a password inline"
            );
        } else if !jobs[0]["tls_config"].is_null() {
            seen.insert("TLS");
        } else {
            seen.insert("static");
        }
    }
    assert_eq!(seen, BTreeSet::from(["static", "TLS", "basic auth"]));
}

// ---- release ----

#[test]
fn the_workflows_pass_the_github_workflow_schema() {
    // A job without `runs-on` must fail the same check.
    check_schema(
        "vendor.github-workflows",
        &[CI_WORKFLOW, RELEASE_WORKFLOW],
        ("    runs-on:", "    runs_on:"),
    );
}

#[test]
fn ci_runs_the_ci_script_on_pushes_and_pull_requests() {
    let ci = yaml_file(CI_WORKFLOW);
    assert!(ci["on"]["push"].is_object(), "{ci}");
    assert!(ci["on"].get("pull_request").is_some(), "{ci}");
    let steps: Vec<&str> = ci["jobs"]
        .as_object()
        .expect("jobs")
        .values()
        .flat_map(|job| job["steps"].as_array().into_iter().flatten())
        .filter_map(|step| step["run"].as_str())
        .collect();
    assert!(steps.iter().any(|run| run.trim() == ".ci/run"), "{steps:?}");
}

/// What a release publishes: static musl binaries for both architectures, checksums, an
/// image for both platforms built with the version and revision arguments the
/// Dockerfile takes, and a GitHub release with the changelog section.
#[test]
fn the_release_workflow_publishes_binaries_image_checksums_and_notes() {
    let release = yaml_file(RELEASE_WORKFLOW);
    let tags = strings(&release["on"]["push"]["tags"]);
    assert_eq!(tags, ["v*.*.*"]);
    let jobs = &release["jobs"];
    // The values of one key across a job's build matrix.
    let matrix = |job: &str, key: &str| -> BTreeSet<String> {
        jobs[job]["strategy"]["matrix"]["include"]
            .as_array()
            .unwrap_or_else(|| panic!("{job}: no matrix"))
            .iter()
            .filter_map(|entry| entry[key].as_str().map(String::from))
            .collect()
    };
    assert_eq!(
        matrix("binaries", "target"),
        BTreeSet::from([
            "aarch64-unknown-linux-musl".to_string(),
            "x86_64-unknown-linux-musl".to_string()
        ])
    );
    assert_eq!(
        matrix("image", "platform"),
        BTreeSet::from(["linux/amd64".to_string(), "linux/arm64".to_string()])
    );
    let build = jobs["image"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .find(|step| {
            step["uses"]
                .as_str()
                .is_some_and(|uses| uses.starts_with("docker/build-push-action@"))
        })
        .expect("an image build");
    let build_args = build["with"]["build-args"].as_str().expect("build-args");
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    for arg in ["VERSION", "REVISION"] {
        assert!(build_args.contains(&format!("{arg}=")), "{build_args}");
        assert!(
            dockerfile.contains(&format!("ARG {arg}")),
            "the Dockerfile takes no {arg}"
        );
    }
    assert!(dockerfile.contains(r#"org.opencontainers.image.version="${VERSION}""#));
    assert!(dockerfile.contains(r#"org.opencontainers.image.revision="${REVISION}""#));
    let text = std::fs::read_to_string(repo().join(RELEASE_WORKFLOW)).expect(RELEASE_WORKFLOW);
    for needed in [
        "ghcr.io/",
        "docker buildx imagetools create",
        "sha256sum",
        "scripts/changelog-section",
        "gh release create",
    ] {
        assert!(text.contains(needed), "release.yml never runs {needed}");
    }
}

/// The version in Cargo.toml has its section in CHANGELOG.md, which the release notes
/// are made of; a version without one fails the release.
#[test]
fn the_changelog_has_a_section_for_the_crate_version() {
    let version = env!("CARGO_PKG_VERSION");
    let notes = run(Command::new("scripts/changelog-section").arg(version));
    assert!(notes.contains("### "), "{notes}");
    assert!(
        !notes.contains(&format!("## [{version}]")),
        "the heading is kept: {notes}"
    );
    let missing = Command::new("scripts/changelog-section")
        .arg("0.0.0-never")
        .current_dir(repo())
        .output()
        .expect("the script runs");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no entries"));
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

/// A user's own overlay on the base, as the docs show them: `resources: [base]` and
/// then `extra`. It lives in a temporary directory under target/ (kustomize only loads
/// bases by relative path, so it must be inside the repository), removed when dropped.
struct UserOverlay {
    dir: tempfile::TempDir,
    path: String,
}

fn user_overlay(extra: &str) -> UserOverlay {
    let target = repo().join("target");
    std::fs::create_dir_all(&target).expect("target dir");
    let dir = tempfile::tempdir_in(&target).expect("temp dir");
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        format!("resources:\n  - ../../deploy/kubernetes/base\n{extra}\n"),
    )
    .expect("kustomization written");
    let path = dir.path().to_string_lossy().into_owned();
    UserOverlay { dir, path }
}

/// The objects of the Prometheus Operator's kinds.
fn operator_objects(objects: &[Value]) -> Vec<&Value> {
    objects
        .iter()
        .filter(|o| {
            o["apiVersion"]
                .as_str()
                .unwrap_or_default()
                .starts_with(OPERATOR_GROUP)
        })
        .collect()
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

/// Every rule of alerts.yaml, recording rules included.
fn all_rules() -> Vec<Value> {
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

/// Checks `files` against one of check-jsonschema's built-in schemas, and that a copy of
/// the first with `breaking.0` replaced by `breaking.1` fails it: the check can fail.
fn check_schema(schema: &str, files: &[&str], breaking: (&str, &str)) {
    let check = || {
        let mut command = Command::new(venv_tool("check-jsonschema"));
        command.args(["--builtin-schema", schema]);
        command
    };
    let checked = run(check().args(files));
    assert!(checked.contains("ok"), "{checked}");
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir
        .path()
        .join(Path::new(files[0]).file_name().expect("file name"));
    let text = std::fs::read_to_string(repo().join(files[0])).expect("readable");
    assert!(
        text.contains(breaking.0),
        "{} has no {:?}",
        files[0],
        breaking.0
    );
    std::fs::write(&broken, text.replace(breaking.0, breaking.1)).expect("written");
    let output = check()
        .arg(&broken)
        .output()
        .expect("check-jsonschema runs");
    assert!(
        !output.status.success(),
        "{schema} accepted {:?} as {:?}",
        breaking.0,
        breaking.1
    );
}

/// The values of every `..._file` setting in a Prometheus config.
fn file_settings(config: &Value) -> Vec<String> {
    match config {
        Value::Object(map) => map
            .iter()
            .flat_map(|(key, value)| match value.as_str() {
                Some(path) if key.ends_with("_file") => vec![path.to_string()],
                _ => file_settings(value),
            })
            .collect(),
        Value::Array(items) => items.iter().flat_map(file_settings).collect(),
        _ => vec![],
    }
}

/// The contents of the fenced code blocks of one language in a Markdown text.
fn fenced_blocks(text: &str, language: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match current.as_mut() {
            None if line.trim_start() == format!("```{language}") => current = Some(String::new()),
            None => {}
            Some(_) if line.trim_start() == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
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
    let operator = operator_objects(objects);
    let builtin: Vec<&Value> = objects.iter().filter(|o| !operator.contains(o)).collect();
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

/// In: only the metrics port, from the listed scrapers in any namespace. Out: only HTTPS
/// and DNS.
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
    // Scrapers picked by name: never an empty selector, which would admit every pod.
    let ingress = policy["spec"]["ingress"].as_array().expect("ingress");
    assert_eq!(ingress.len(), 1, "{policy}");
    let from = ingress[0]["from"].as_array().expect("from");
    assert_eq!(from.len(), 1, "{policy}");
    let selector = &from[0]["podSelector"];
    assert!(selector["matchLabels"].is_null(), "{selector}");
    let expressions = selector["matchExpressions"]
        .as_array()
        .expect("matchExpressions");
    assert_eq!(expressions.len(), 1, "{selector}");
    assert_eq!(expressions[0]["key"], "app.kubernetes.io/name");
    assert_eq!(expressions[0]["operator"], "In");
    assert!(!strings(&expressions[0]["values"]).is_empty(), "{selector}");
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
