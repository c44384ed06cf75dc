//! The exporter's catalogues held against the official Genesys Cloud Python SDK.
//!
//! The simulator validates requests against the same catalogue as the config
//! (`src/genesys/catalog.rs`), so no other test can catch a wrong name there. This one
//! writes every list of names the exporter checks, one per request field, as JSON to
//! `scripts/catalog_sdk.py`, which reads the enums of the SDK pinned in
//! `scripts/requirements-sdk.txt` (installed by scripts/test into `target/venv-sdk`) and
//! fails on any difference that `scripts/catalog-allowlist.toml` does not explain. The
//! lists are taken from the crate itself, not parsed from its source, so the check sees
//! exactly what the exporter and the simulator use.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use genesys_cloud_exporter::config;
use genesys_cloud_exporter::genesys::catalog;
use genesys_cloud_exporter::genesys::sources::SOURCES;

/// One request field's list of names, and the Rust constant it comes from when it is
/// one of the fixed lists (the sources' lists are read from the source table).
struct Catalogue {
    field: String,
    constant: Option<&'static str>,
    names: &'static [&'static str],
}

/// `catalogue!(field, path::TO::LIST)`: the list, and the constant's name for the check
/// that no list of the catalogue module is left out.
macro_rules! catalogue {
    ($field:literal, $list:path) => {
        Catalogue {
            field: $field.to_string(),
            constant: stringify!($list).rsplit("::").next().map(str::trim),
            names: &$list,
        }
    };
}

/// Every list of names the exporter checks, by the request field it names (the field
/// names scripts/catalog_sdk.py maps to SDK models): the queue observations' fixed
/// lists, then for every source of the table (`genesys::sources::SOURCES`, so a new row
/// is compared without editing this test) `<segment>.metrics`, `<segment>.groupBy`,
/// `<segment>.filter.dimension` and `<segment>.qualifier.<metric>` for each named
/// qualifier whose values are known.
fn catalogues() -> Vec<Catalogue> {
    let mut lists = vec![
        catalogue!("observations.metrics", catalog::OBSERVATION_METRICS),
        catalogue!("observations.detailMetrics", config::DETAIL_METRICS),
        catalogue!(
            "observations.filter.dimension",
            catalog::OBSERVATION_DIMENSIONS
        ),
        catalogue!("observations.filter.mediaType", config::MEDIA_TYPES),
    ];
    for source in &SOURCES {
        let list = |kind: &str, names| Catalogue {
            field: format!("{}.{kind}", source.segment),
            constant: None,
            names,
        };
        lists.push(list("metrics", source.metrics));
        lists.push(list("groupBy", source.dimensions));
        lists.push(list("filter.dimension", source.dimensions));
        for qualifier in source.qualifiers.iter().filter(|q| !q.values.is_empty()) {
            lists.push(list(
                &format!("qualifier.{}", qualifier.metric),
                qualifier.values,
            ));
        }
    }
    lists
}

/// Agents now (`src/genesys/agents.rs`): the agent state counts' filter dimensions and
/// the values of each count, which mapping zero-fills and the simulator answers with.
fn agents_catalogues() -> [Catalogue; 7] {
    use genesys_cloud_exporter::genesys::agents;
    [
        catalogue!(
            "agents.userFilter.dimension",
            agents::USER_FILTER_DIMENSIONS
        ),
        catalogue!(
            "agents.sessionFilter.dimension",
            agents::SESSION_FILTER_DIMENSIONS
        ),
        catalogue!("agents.routingStatus", agents::ROUTING_STATUSES),
        catalogue!("agents.systemPresence", agents::SYSTEM_PRESENCES),
        catalogue!("agents.adherenceState", agents::ADHERENCE_STATES),
        catalogue!("agents.activityCategory", agents::ACTIVITY_CATEGORIES),
        catalogue!("agents.segmentType", agents::SEGMENT_TYPES),
    ]
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs scripts/catalog_sdk.py over `lists` with the SDK's venv; its exit status and output.
fn compare(lists: &BTreeMap<String, Vec<&str>>, allowlist: &Path) -> (Option<i32>, String) {
    let python = repo().join("target/venv-sdk/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test installs the SDK (scripts/requirements-sdk.txt)",
        python.display()
    );
    let mut child = Command::new(python)
        .arg(repo().join("scripts/catalog_sdk.py"))
        .arg(allowlist)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the SDK's python runs");
    let json = serde_json::to_vec(lists).expect("names serialize");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(&json)
        .expect("the script reads the catalogues");
    let output = child.wait_with_output().expect("the script finishes");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

fn ours() -> BTreeMap<String, Vec<&'static str>> {
    catalogues()
        .into_iter()
        .chain(agents_catalogues())
        .map(|c| (c.field, c.names.to_vec()))
        .collect()
}

#[test]
fn every_catalogue_is_the_sdks_enum_or_its_differences_are_allowed() {
    let (status, output) = compare(&ours(), &repo().join("scripts/catalog-allowlist.toml"));
    println!("{output}");
    assert_eq!(status, Some(0), "{output}");
}

/// The check can fail: a name added to a catalogue and one taken out are both reported,
/// for the conversations as for another source's dimensions and a named qualifier's
/// values, and an allow-list entry that no longer matches a difference is reported as
/// stale.
#[test]
fn a_wrong_catalogue_fails_the_check() {
    let mut lists = ours();
    let metrics = lists.get_mut("conversations.metrics").expect("listed");
    metrics.retain(|name| *name != "tHandle");
    metrics.push("tMadeUp");
    let dimensions = lists.get_mut("flows.groupBy").expect("listed");
    dimensions.retain(|name| *name != "flowOutcomeId");
    let statuses = lists
        .get_mut("users.qualifier.tAgentRoutingStatus")
        .expect("listed");
    statuses.push("ON_BREAK");
    let (status, output) = compare(&lists, &repo().join("scripts/catalog-allowlist.toml"));
    assert_eq!(status, Some(1), "{output}");
    for wanted in [
        "conversations.metrics: tHandle only in SDK",
        "conversations.metrics: tMadeUp only in ours",
        "flows.groupBy: flowOutcomeId only in SDK",
        "users.qualifier.tAgentRoutingStatus: ON_BREAK only in ours",
    ] {
        assert!(
            output.contains(wanted),
            "{wanted} not reported in\n{output}"
        );
    }

    let stale = tempfile::NamedTempFile::new().expect("temporary file");
    std::fs::write(
        stale.path(),
        "[[difference]]\ncatalogue = \"conversations.metrics\"\nname = \"nOffered\"\n\
         direction = \"only in ours\"\nreason = \"a test\"\n",
    )
    .expect("allow-list written");
    let (status, output) = compare(&ours(), stale.path());
    assert_eq!(status, Some(1), "{output}");
    assert!(
        output.contains("conversations.metrics: nOffered is no longer only in ours"),
        "{output}"
    );
}

/// A source the SDK has no aggregates models for, or a named qualifier the script does
/// not know the SDK's enum of, is a broken input (exit 2), not a silent pass.
#[test]
fn a_catalogue_without_an_sdk_enum_is_refused() {
    let unknown_source =
        ["metrics", "groupBy", "filter.dimension"].map(|k| format!("nosuchthings.{k}"));
    let unknown_qualifier = ["users.qualifier.tMadeUp".to_string()];
    for (fields, named) in [
        (&unknown_source[..], "the source 'nosuchthings'"),
        (&unknown_qualifier[..], "users.qualifier.tMadeUp"),
    ] {
        let mut lists = ours();
        for field in fields {
            lists.insert(field.clone(), vec!["x"]);
        }
        let (status, output) = compare(&lists, &repo().join("scripts/catalog-allowlist.toml"));
        assert_eq!(status, Some(2), "{named}: {output}");
        assert!(output.contains(named), "{named}: {output}");
    }
}

/// A list added to src/genesys/catalog.rs must be held against the SDK too: named in
/// catalogues(), or a list of a source in the table (which is compared whole).
#[test]
fn every_list_of_the_catalogue_module_is_compared() {
    let source = std::fs::read_to_string(repo().join("src/genesys/catalog.rs"))
        .expect("src/genesys/catalog.rs readable");
    // The lists the source table uses are compared through it.
    let table = std::fs::read_to_string(repo().join("src/genesys/sources.rs"))
        .expect("src/genesys/sources.rs readable");
    let compared: Vec<&str> = catalogues().iter().filter_map(|c| c.constant).collect();
    let lists: Vec<&str> = source
        .lines()
        .filter_map(|line| line.strip_prefix("pub const "))
        .filter_map(|rest| rest.split_once(": &[&str]"))
        .map(|(name, _)| name)
        .collect();
    assert!(!lists.is_empty(), "no `pub const NAME: &[&str]` found");
    for name in lists {
        assert!(
            compared.contains(&name) || table.contains(&format!("catalog::{name},")),
            "catalog::{name} is not held against the SDK: give it a row in catalogues() \
             or use it in the source table"
        );
    }
}
