//! The deployment files, checked with the real tools: the alert rules with promtool and
//! a real Prometheus (alerts.rs), the Kubernetes manifests with `kubectl kustomize`,
//! kubernetes-validate and checkov (kubernetes.rs), the Dockerfile, the GitHub workflows
//! and the changelog (release.rs), the Compose quickstart and the documented scrape
//! configs (quickstart.rs). scripts/test installs the tools: promtool from Debian;
//! checkov, kubernetes-validate and check-jsonschema into target/venv-deploy; kubectl
//! when missing. This file holds what they share.

mod alerts;
#[path = "../common/mod.rs"]
mod common;
mod kubernetes;
mod quickstart;
mod release;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;

const ALERTS: &str = "deploy/prometheus/alerts.yaml";
const BASE: &str = "deploy/kubernetes";
const QUERIES: &str = "deploy/kubernetes/base/queries.yaml";

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

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}
