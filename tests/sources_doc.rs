//! docs/sources.md held to the code: for every source of the table its path, permission
//! and series prefix, every metric with the series names the mapping gives it (both
//! directions: no metric missing from the doc, no row the code does not make), its named
//! qualifiers, and an example config that loads as a query of that source.

use std::collections::BTreeSet;
use std::path::PathBuf;

use genesys_cloud_exporter::config::Config;
use genesys_cloud_exporter::genesys::sources::{SOURCES, Source};
use genesys_cloud_exporter::mapping::series_base;

fn doc() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/sources.md");
    std::fs::read_to_string(path).expect("docs/sources.md exists")
}

/// The series a metric of `source` becomes, as the doc writes them: a count's one name,
/// a timer's stats in braces, an o-metric's `{stat}` (its stats are named by the API).
fn series_cell(source: &Source, metric: &str) -> String {
    let (family, base) = series_base(source, metric);
    let prefix = source.prefix();
    match family {
        't' => format!(
            "{prefix}{base}_seconds_{{{}}}",
            source.timer_stats.join(",")
        ),
        'o' => format!("{prefix}{base}_{{stat}}"),
        _ => format!("{prefix}{base}"),
    }
}

/// The sections of the doc, by the segment in their `## `source`` heading.
fn sections(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## `")
            && let Some(segment) = heading.strip_suffix('`')
        {
            out.push((segment.to_string(), String::new()));
        } else if line.starts_with("## ") {
            out.push((String::new(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out.retain(|(segment, _)| !segment.is_empty());
    out
}

/// The `| `a` | `b` |` rows of a section's tables whose first cell is a metric name.
fn metric_rows(section: &str) -> BTreeSet<(String, String)> {
    section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line
                .trim()
                .strip_prefix('|')?
                .strip_suffix('|')?
                .split('|')
                .map(|c| c.trim().trim_matches('`'))
                .collect();
            let [metric, series] = cells[..] else {
                return None;
            };
            let typed = metric.starts_with(['n', 't', 'o'])
                && metric
                    .chars()
                    .nth(1)
                    .is_some_and(|c| c.is_ascii_uppercase());
            typed.then(|| (metric.to_string(), series.to_string()))
        })
        .collect()
}

/// The first ```yaml block of a section.
fn example(section: &str) -> Option<String> {
    let start = section.find("```yaml\n")? + "```yaml\n".len();
    let end = section[start..].find("```")?;
    Some(section[start..start + end].to_string())
}

#[test]
fn every_source_and_every_metric_is_in_the_doc_with_the_series_the_code_makes() {
    let text = doc();
    let sections = sections(&text);
    let documented: Vec<&str> = sections.iter().map(|(s, _)| s.as_str()).collect();
    let table: Vec<&str> = SOURCES.iter().map(|s| s.segment).collect();
    assert_eq!(
        documented, table,
        "one section per source, in the table's order"
    );
    for ((_, section), source) in sections.iter().zip(&SOURCES) {
        let segment = source.segment;
        let expected: BTreeSet<(String, String)> = source
            .metrics
            .iter()
            .map(|m| (m.to_string(), series_cell(source, m)))
            .collect();
        let written = metric_rows(section);
        let missing: Vec<_> = expected.difference(&written).collect();
        let extra: Vec<_> = written.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{segment}: rows the doc lacks (metric | series):\n{}\nrows the code does not make: {extra:?}",
            missing
                .iter()
                .map(|(m, s)| format!("| `{m}` | `{s}` |"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        for fact in [
            format!("`POST {}`", source.aggregates_path()),
            format!("`{}`", source.permission),
            format!("`{}`", source.prefix()),
        ] {
            assert!(section.contains(&fact), "{segment}: no {fact}");
        }
        for qualifier in source.qualifiers {
            let row = format!("| `{}` | `{}` |", qualifier.metric, qualifier.label);
            assert!(section.contains(&row), "{segment}: no row {row}");
            if let Some((_, name)) = qualifier.name {
                assert!(section.contains(&format!("`{name}`")), "{segment}: {name}");
            }
        }
        let yaml = example(section).unwrap_or_else(|| panic!("{segment}: no example"));
        let config = Config::from_yaml(&yaml, "docs/sources.md")
            .unwrap_or_else(|e| panic!("{segment}: the example does not load: {e}"));
        assert!(
            config.queries.iter().all(|q| q.source == source),
            "{segment}: the example queries another source"
        );
    }
}

/// No two metrics of a source share a series name (with the stats the API answers).
#[test]
fn no_two_metrics_of_a_source_share_a_series() {
    for source in &SOURCES {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for metric in source.metrics {
            let (family, base) = series_base(source, metric);
            let names: Vec<String> = match family {
                't' => source
                    .timer_stats
                    .iter()
                    .map(|s| format!("{base}_seconds_{s}"))
                    .collect(),
                'o' => [
                    "count",
                    "sum",
                    "min",
                    "max",
                    "ratio",
                    "numerator",
                    "denominator",
                ]
                .iter()
                .map(|s| format!("{base}_{s}"))
                .collect(),
                _ => vec![base],
            };
            for name in names {
                assert!(
                    seen.insert(name.clone()),
                    "{}: {name} twice",
                    source.segment
                );
            }
        }
    }
}
