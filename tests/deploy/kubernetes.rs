//! The Kubernetes manifests: the base, each Component in a user's overlay and the demo,
//! rendered by `kubectl kustomize`, validated against the Kubernetes API schemas and
//! scanned by checkov.

use super::*;

const DEMO: &str = "deploy/kubernetes/overlays/demo";
/// The kustomize Components a user adds to the base for their kind of Prometheus.
const OPERATOR_COMPONENT: &str = "deploy/kubernetes/components/prometheus-operator";
const PLAIN_COMPONENT: &str = "deploy/kubernetes/components/plain-prometheus";
/// The API group of the Prometheus Operator's CRDs: kubernetes-validate has no schema
/// for them, so `check_operator_objects` checks what matters about them instead.
const OPERATOR_GROUP: &str = "monitoring.coreos.com/";

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

/// The way docs/deployment.md gives to roll the pod on a credentials change: a
/// secretGenerator in the user's own overlay, whose hash-suffixed name the Deployment
/// then refers to.
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
pub(crate) fn render(directory: &str) -> Vec<Value> {
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

fn of_kind<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

pub(crate) fn only<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}");
    found[0]
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
