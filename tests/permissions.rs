//! The permissions docs/security.md tells users to grant, held to the calls the exporter
//! makes: a role built from that table must never answer 403.
//!
//! The calls are `genesys::permissions::api_calls()`, a table built from the paths the
//! client sends to; a scan of the sources makes sure no other API path is sent to.

use std::path::{Path, PathBuf};

use genesys_cloud_exporter::genesys::names::DIMENSIONS;
use genesys_cloud_exporter::genesys::permissions::{ApiCall, api_calls};
use genesys_cloud_exporter::genesys::sources::SOURCES;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One row of the permissions table: the permission, then the other cells joined.
struct Row {
    permission: String,
    rest: String,
}

/// The rows of docs/security.md whose first cell is one backticked permission
/// (`domain:entity:action`).
fn documented_rows() -> Vec<Row> {
    let text = std::fs::read_to_string(repo().join("docs/security.md")).expect("security.md");
    text.lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim().strip_prefix('|')?.split('|').collect();
            let first = cells.first()?.trim();
            let permission = first.strip_prefix('`')?.strip_suffix('`')?;
            (permission.split(':').count() == 3 && !permission.contains('`')).then(|| Row {
                permission: permission.to_string(),
                rest: cells[1..].join("|"),
            })
        })
        .collect()
}

/// Every source's aggregates query and every name listing is a call of the table, with
/// the permission its row (source table, names directory) says: a source or listing
/// added later is covered without editing this test.
#[test]
fn every_source_and_every_listing_is_a_call_with_its_permission() {
    let calls = api_calls();
    let wanted = SOURCES
        .iter()
        .map(|s| ("POST", s.aggregates_path(), s.permission))
        .chain(
            DIMENSIONS
                .iter()
                .map(|d| ("GET", d.path.to_string(), d.permission)),
        );
    for (method, path, permission) in wanted {
        assert!(
            calls
                .iter()
                .any(|c| c.method == method && c.path == path && c.permission == Some(permission)),
            "api_calls() lacks {method} {path} with `{permission}`"
        );
    }
}

#[test]
fn every_call_has_its_permission_in_the_security_table() {
    let rows = documented_rows();
    let text = std::fs::read_to_string(repo().join("docs/security.md")).expect("security.md");
    let mut missing = Vec::new();
    for call in api_calls() {
        let ApiCall {
            method,
            path,
            permission,
        } = call;
        let endpoint = format!("{method} {path}");
        match permission {
            Some(permission) => {
                if !rows
                    .iter()
                    .any(|row| row.permission == permission && row.rest.contains(&endpoint))
                {
                    missing.push(format!("`{permission}` for `{endpoint}`"));
                }
            }
            None => {
                if !text.contains(&endpoint) {
                    missing.push(format!("`{endpoint}` (no permission) named at all"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/security.md's permissions table lacks a row (permission, then the endpoint \
         it is for) for: {}",
        missing.join(", ")
    );
}

#[test]
fn the_security_table_grants_nothing_the_exporter_does_not_call() {
    let calls = api_calls();
    let rows = documented_rows();
    assert!(!rows.is_empty(), "no permissions table found");
    for row in rows {
        assert!(
            calls.iter().any(|c| c.permission == Some(&row.permission)),
            "docs/security.md grants `{}`, which no call of the exporter needs",
            row.permission
        );
    }
}

/// The string literals of a Rust source that look like API paths, from the code the
/// binary runs (the text before its first `#[cfg(test)]`), query strings cut off.
fn api_path_literals(source: &str) -> Vec<String> {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let mut out = Vec::new();
    for (i, piece) in code.split('"').enumerate() {
        // Odd pieces are inside quotes (good enough for these sources: no escaped quote
        // sits in front of an API path).
        if i % 2 == 1 && (piece.starts_with("/api/") || piece.starts_with("/oauth/")) {
            out.push(piece.split('?').next().unwrap_or_default().to_string());
        }
    }
    out
}

/// Whether `path` is `template` with each `{...}` placeholder (a `format!` argument such
/// as the `{}` of `/api/v2/analytics/{}/aggregates/query`) filled by one path segment;
/// a template without placeholders fills only itself.
fn fills(template: &str, path: &str) -> bool {
    let (want, have): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    want.len() == have.len()
        && want
            .iter()
            .zip(&have)
            .all(|(w, h)| w == h || (w.starts_with('{') && w.ends_with('}') && !h.is_empty()))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every API path the sources send to is in the table, and (so that the scan is known
/// to see them) every path of the table is in the sources, literally or as a template
/// such as `/api/v2/analytics/{}/aggregates/query`.
#[test]
fn every_api_path_in_the_sources_is_in_the_table() {
    let mut files = Vec::new();
    rust_files(&repo().join("src"), &mut files);
    let simulator = repo().join("src/simulator");
    let known: Vec<&str> = api_calls().iter().map(|c| c.path).collect();
    let mut seen = Vec::new();
    for file in files.iter().filter(|f| !f.starts_with(&simulator)) {
        let source = std::fs::read_to_string(file).expect("source");
        for path in api_path_literals(&source) {
            assert!(
                known.iter().any(|k| fills(&path, k)),
                "{} sends to {path}, which genesys::permissions::api_calls() does not list \
                 (add it, with its permission, and its row to docs/security.md)",
                file.display()
            );
            seen.push(path);
        }
    }
    for path in known {
        assert!(
            seen.iter().any(|s| fills(s, path)),
            "the scan found no literal for {path} among {seen:?}"
        );
    }
}

#[test]
fn the_scan_finds_paths_and_skips_tests() {
    let source = "const A: &str = \"/api/v2/x?pageSize=1\"; // `/api/v2/doc`\n\
                  fn f() { g(\"other\", \"/oauth/token\") }\n#[cfg(test)]\nmod t { \"/api/v2/test\" }";
    assert_eq!(api_path_literals(source), ["/api/v2/x", "/oauth/token"]);
    assert!(fills("/api/v2/a/{}/q", "/api/v2/a/users/q"));
    assert!(fills("/api/v2/a/{segment}/q", "/api/v2/a/users/q"));
    assert!(fills("/api/v2/a", "/api/v2/a"));
    assert!(!fills("/api/v2/a/{}/q", "/api/v2/a/q"));
    assert!(!fills("/api/v2/a/{}/q", "/api/v2/a//q"));
    assert!(!fills("/api/v2/a/{}/q", "/api/v2/b/users/q"));
}
