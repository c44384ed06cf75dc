//! The Compose quickstart (schema, mounts, wiring, its Prometheus config through
//! promtool) and the documented plain Prometheus scrape configs.

use super::*;
use crate::alerts::all_rules;

const COMPOSE: &str = "deploy/compose/compose.yaml";
const QUICKSTART: &str = "docs/quickstart.md";

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
