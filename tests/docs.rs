//! The documentation a newcomer walks: every relative link resolves (to a file, and to a
//! heading when it names one), the README stays a first stop rather than a manual, and
//! its minimal config is one the exporter loads.

use std::path::{Path, PathBuf};

use genesys_cloud_exporter::config::Config;

/// The README is the operator's first stop; the manual lives in docs/.
const README_MAX_LINES: usize = 250;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md, ARCHITECTURE.md, BENCHMARKS.md and every file of docs/.
fn documents() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "BENCHMARKS.md"]
        .iter()
        .map(|name| repo().join(name))
        .collect();
    let mut guides: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .expect("docs/ exists")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.sort();
    out.extend(guides);
    out
}

/// The text outside fenced code blocks, where links are links.
fn prose(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The targets of the inline links `[text](target)` of a Markdown text.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        match after.find(')') {
            Some(end) => {
                targets.push(after[..end].trim().to_string());
                rest = &after[end..];
            }
            None => break,
        }
    }
    targets
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-' || *c == '_')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    prose(text)
        .lines()
        .filter(|line| line.starts_with('#'))
        .map(|line| anchor(line.trim_start_matches('#')))
        .collect()
}

/// Why a relative link from `document` is dead, if it is.
fn dead(document: &Path, target: &str) -> Option<String> {
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, fragment) = match target.split_once('#') {
        Some((path, fragment)) => (path, Some(fragment)),
        None => (target, None),
    };
    let file = if path.is_empty() {
        document.to_path_buf()
    } else {
        document.parent().expect("in a directory").join(path)
    };
    if !file.exists() {
        return Some(format!("{} does not exist", file.display()));
    }
    let fragment = fragment?;
    let text = std::fs::read_to_string(&file).ok()?;
    (!anchors(&text).iter().any(|a| a == fragment))
        .then(|| format!("{} has no heading #{fragment}", file.display()))
}

#[test]
fn every_relative_link_of_the_documentation_resolves() {
    let mut checked = 0;
    let mut broken = Vec::new();
    for document in documents() {
        let text = std::fs::read_to_string(&document).expect("readable document");
        for target in link_targets(&prose(&text)) {
            checked += 1;
            if let Some(why) = dead(&document, &target) {
                broken.push(format!("{}: ({target}): {why}", document.display()));
            }
        }
    }
    assert!(checked > 20, "links were found: {checked}");
    assert!(broken.is_empty(), "dead links:\n{}", broken.join("\n"));
}

/// The check itself: a missing file and a missing heading are dead, the rest not.
#[test]
fn the_link_check_tells_dead_links_from_live_ones() {
    let readme = repo().join("README.md");
    assert_eq!(dead(&readme, "https://example.com/x"), None);
    assert_eq!(dead(&readme, "docs/security.md#web-config-file"), None);
    assert_eq!(dead(&readme, "ARCHITECTURE.md"), None);
    assert!(dead(&readme, "docs/nowhere.md").is_some());
    assert!(dead(&readme, "docs/security.md#no-such-heading").is_some());
    assert_eq!(
        anchor(" Parsers: property tests and fuzzing"),
        "parsers-property-tests-and-fuzzing"
    );
    assert_eq!(
        link_targets("see [a](x.md) and [b](y.md#z)"),
        ["x.md", "y.md#z"]
    );
}

#[test]
fn the_readme_is_a_first_stop() {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let lines = text.lines().count();
    assert!(
        lines <= README_MAX_LINES,
        "README.md has {lines} lines; the manual belongs in docs/"
    );
    for guide in [
        "configuration",
        "deployment",
        "security",
        "operations",
        "testing",
    ] {
        assert!(
            text.contains(&format!("(docs/{guide}.md)")),
            "README.md does not link docs/{guide}.md"
        );
    }
}

/// The README's minimal config is a config the exporter loads.
#[test]
fn the_readme_minimal_config_loads() {
    let text = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = &text[text.find("## A minimal config").expect("the section")..];
    let start = section.find("```yaml\n").expect("a YAML block") + "```yaml\n".len();
    let end = start + section[start..].find("```").expect("its end");
    let config =
        Config::from_yaml(&section[start..end], "README.md").unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(config.queries.len(), 1);
    assert_eq!(config.queries[0].name, "queues");
}

/// BENCHMARKS.md's series of the `--demo` config come from `scripts/measure-default-series`,
/// which writes that config out (--demo polls its own 8-queue simulator): it must be
/// the config `--demo` runs.
#[test]
fn the_series_benchmark_measures_the_demo_config() {
    let script = std::fs::read_to_string(repo().join("scripts/measure-default-series"))
        .expect("scripts/measure-default-series");
    let opening = "cat >\"$work/demo.yaml\" <<'EOF'\n";
    let start = script.find(opening).expect("the demo config's heredoc") + opening.len();
    let end = start + script[start..].find("\nEOF\n").expect("the heredoc's end");
    let written = Config::from_yaml(&script[start..end], "measure-default-series")
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(written, Config::demo());
}
