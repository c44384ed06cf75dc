//! Release automation: the Dockerfile, the GitHub workflows against their schema and
//! what they build, and the changelog the release notes come from.

use super::*;
use crate::kubernetes::{only, render};

const RELEASE_WORKFLOW: &str = ".github/workflows/release.yml";
const CI_WORKFLOW: &str = ".github/workflows/ci.yml";

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
