//! The shape of the code, kept as the docs describe it: imports only point down (no
//! module cycle), no source file grows past what one sitting can read.
//!
//! The import graph is read from the sources themselves: every `use` path and every
//! `crate::` path outside comments, resolved to the module it names. A module may use
//! its ancestors' items and its own descendants' (that is how a folder's `mod.rs` and its
//! files work together); between any two other modules, the edges must form no cycle,
//! at every level of the tree: between the top-level modules, between the files of one
//! folder, and so on down.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lines of non-test code a source file may have (tests in their own file do not count).
const MAX_CODE_LINES: usize = 800;

/// A module path such as `["config", "validate"]`; the crate root is empty.
type Module = Vec<String>;

fn src_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, relative to it, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(dir).expect("under dir").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The module a library file defines (`None` for the binary's `main.rs`).
fn module_of(file: &Path) -> Option<Module> {
    let mut parts: Vec<String> = file
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    match parts.as_slice() {
        [only] if only == "main" => return None,
        [only] if only == "lib" => return Some(Vec::new()),
        _ => {}
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    Some(parts)
}

/// The source without comments (line comments, doc comments and block comments) and
/// without the contents of string literals, so that neither counts as an import.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut previous = ' ';
                for c in chars.by_ref() {
                    if previous == '*' && c == '/' {
                        break;
                    }
                    previous = c;
                }
            }
            '"' => {
                out.push('"');
                let mut escaped = false;
                for c in chars.by_ref() {
                    if c == '\n' {
                        out.push('\n');
                    }
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == '"' {
                        break;
                    }
                }
                out.push('"');
            }
            _ => out.push(c),
        }
    }
    out
}

/// `a::{b, c::{d, e}}` to `a::b`, `a::c::d`, `a::c::e` (aliases and globs dropped to
/// their path).
fn expand_use(tree: &str) -> Vec<String> {
    fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        match tree.find('{') {
            None => {
                let path = tree.split_whitespace().next().unwrap_or("");
                let path = path.trim_end_matches("::*");
                if !path.is_empty() {
                    out.push(format!("{prefix}{path}"));
                }
            }
            Some(open) => {
                let head: String = tree[..open].split_whitespace().collect();
                let prefix = format!("{prefix}{head}");
                let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in inner.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            expand(&prefix, &inner[start..i], out);
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
                expand(&prefix, &inner[start..], out);
            }
        }
    }
    let mut out = Vec::new();
    expand("", tree, &mut out);
    out
}

/// The paths a file refers to: those of its `use` declarations and every `crate::`
/// path in its code.
fn referenced_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let starts_word = at == 0
            || !rest[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        let after = &rest[at + 4..];
        let end = after.find(';').unwrap_or(after.len());
        if starts_word {
            paths.extend(expand_use(&after[..end]));
        }
        rest = &after[end.min(after.len())..];
    }
    let bytes = code.as_bytes();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at;
        let end = code[start..]
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(code.len(), |e| start + e);
        let preceded =
            start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        if !preceded {
            paths.push(code[start..end].trim_end_matches(':').to_string());
        }
        from = end.max(start + 1);
    }
    paths
}

/// The module a path names from inside `here`: the longest known module it starts with.
fn resolve(path: &str, here: &Module, modules: &BTreeSet<Module>) -> Option<Module> {
    let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
    let mut base: Module = match segments.first().copied() {
        Some("crate") => {
            segments.remove(0);
            Vec::new()
        }
        Some("self") => {
            segments.remove(0);
            here.clone()
        }
        Some("super") => {
            let mut base = here.clone();
            while segments.first() == Some(&"super") {
                segments.remove(0);
                base.pop();
            }
            base
        }
        Some(first) => {
            // A path relative to this module (a child), else an external crate.
            let mut child = here.clone();
            child.push(first.to_string());
            if !modules.contains(&child) {
                return None;
            }
            here.clone()
        }
        None => return None,
    };
    let mut found = base.clone();
    for segment in segments {
        base.push(segment.to_string());
        if modules.contains(&base) {
            found = base.clone();
        } else {
            break;
        }
    }
    Some(found)
}

/// Import edges between modules, ancestor and descendant edges left out.
fn import_edges(files: &BTreeMap<Module, String>) -> BTreeSet<(Module, Module)> {
    let modules: BTreeSet<Module> = files.keys().cloned().collect();
    let mut edges = BTreeSet::new();
    for (module, text) in files {
        for path in referenced_paths(&code_only(text)) {
            let Some(target) = resolve(&path, module, &modules) else {
                continue;
            };
            if target.starts_with(module) || module.starts_with(&target) {
                continue;
            }
            edges.insert((module.clone(), target));
        }
    }
    edges
}

/// Cycles between sibling subtrees, at every level: each as its modules, in order.
fn cycles(edges: &BTreeSet<(Module, Module)>) -> Vec<Vec<Module>> {
    // Every edge, seen from the deepest common ancestor of its ends, joins two children
    // of that ancestor.
    let mut levels: BTreeMap<Module, BTreeMap<Module, BTreeSet<Module>>> = BTreeMap::new();
    for (from, to) in edges {
        let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
        let parent: Module = from[..common].to_vec();
        let a = from[..=common].to_vec();
        let b = to[..=common].to_vec();
        levels
            .entry(parent)
            .or_default()
            .entry(a)
            .or_default()
            .insert(b);
    }
    let mut found = Vec::new();
    for graph in levels.values() {
        // Depth-first search for a back edge; report the cycle it closes.
        let mut state: BTreeMap<&Module, u8> = BTreeMap::new();
        fn visit<'a>(
            node: &'a Module,
            graph: &'a BTreeMap<Module, BTreeSet<Module>>,
            state: &mut BTreeMap<&'a Module, u8>,
            stack: &mut Vec<&'a Module>,
            found: &mut Vec<Vec<Module>>,
        ) {
            state.insert(node, 1);
            stack.push(node);
            for next in graph.get(node).into_iter().flatten() {
                match state.get(next) {
                    Some(1) => {
                        let at = stack.iter().position(|m| *m == next).unwrap_or(0);
                        found.push(stack[at..].iter().map(|m| (*m).clone()).collect());
                    }
                    Some(_) => {}
                    None => visit(next, graph, state, stack, found),
                }
            }
            stack.pop();
            state.insert(node, 2);
        }
        for node in graph.keys() {
            if !state.contains_key(node) {
                visit(node, graph, &mut state, &mut Vec::new(), &mut found);
            }
        }
    }
    found
}

fn library_files() -> BTreeMap<Module, String> {
    rust_files(&src_dir())
        .into_iter()
        .filter_map(|file| {
            let module = module_of(&file)?;
            let text = std::fs::read_to_string(src_dir().join(&file)).expect("readable source");
            Some((module, text))
        })
        .collect()
}

fn name(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_string()
    } else {
        module.join("::")
    }
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let files = library_files();
    let edges = import_edges(&files);
    assert!(edges.len() > 20, "the graph was read: {edges:?}");
    let found: Vec<String> = cycles(&edges)
        .iter()
        .map(|cycle| {
            let names: Vec<String> = cycle.iter().map(|m| name(m)).collect();
            format!("{} -> {}", names.join(" -> "), names[0])
        })
        .collect();
    assert!(found.is_empty(), "import cycles: {found:#?}");
}

/// The check finds a cycle between two top-level modules, and one between two files of
/// a folder, and leaves a folder's `mod.rs` and its files alone.
#[test]
fn the_cycle_check_finds_cycles_at_every_level() {
    let file = |module: &str, text: &str| {
        let module: Module = module
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        (module, text.to_string())
    };
    let files: BTreeMap<Module, String> = [
        file("", "pub mod a; pub mod b; pub mod web;"),
        file("a", "use crate::b::Thing; // use crate::web::Nothing;"),
        file("b", "pub fn f() -> crate::a::Other { todo!() }"),
        file(
            "web",
            "mod config; mod tls; pub use config::X; pub struct E;",
        ),
        file("web::config", "use super::tls::{self, Raw};\nuse super::E;"),
        file("web::tls", "use super::{E, config::Raw};"),
    ]
    .into_iter()
    .collect();
    let edges = import_edges(&files);
    let found = cycles(&edges);
    let names: BTreeSet<Vec<String>> = found
        .iter()
        .map(|cycle| cycle.iter().map(|m| name(m)).collect())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            vec!["a".to_string(), "b".to_string()],
            vec!["web::config".to_string(), "web::tls".to_string()],
        ]),
        "{edges:?}"
    );
    // The comment's `crate::web` was not read as an import.
    assert!(!edges.contains(&(vec!["a".into()], vec!["web".into()])));
}

/// Lines before a file's inline `#[cfg(test)] mod tests`, blank lines left out; a file
/// that only holds tests counts nothing.
fn code_lines(file: &Path, text: &str) -> usize {
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return 0;
    }
    let code = match text.find("#[cfg(test)]\nmod tests {") {
        Some(at) => &text[..at],
        None => text,
    };
    code.lines().filter(|l| !l.trim().is_empty()).count()
}

#[test]
fn no_source_file_is_longer_than_one_sitting() {
    let too_long: Vec<String> = rust_files(&src_dir())
        .into_iter()
        .filter_map(|file| {
            let text = std::fs::read_to_string(src_dir().join(&file)).expect("readable");
            let lines = code_lines(&file, &text);
            (lines > MAX_CODE_LINES).then(|| format!("{}: {lines}", file.display()))
        })
        .collect();
    assert!(
        too_long.is_empty(),
        "over {MAX_CODE_LINES} lines of code: {too_long:?}"
    );
}

/// The files ARCHITECTURE.md's module table has a row for: the first cell of each row of
/// the table under "## Modules".
fn architecture_table_files() -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(path).expect("ARCHITECTURE.md");
    let section = &text[text.find("\n## Modules").expect("a Modules section")..];
    let section = match section[1..].find("\n## ") {
        Some(end) => &section[..end + 1],
        None => section,
    };
    section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split_once('`'))
        .map(|(file, _)| file.to_string())
        .collect()
}

#[test]
fn every_source_file_has_its_row_in_the_architecture_table() {
    let files: BTreeSet<String> = rust_files(&src_dir())
        .iter()
        .map(|f| f.to_string_lossy().replace('\\', "/"))
        .collect();
    let table = architecture_table_files();
    let missing: Vec<&String> = files.difference(&table).collect();
    let stale: Vec<&String> = table.difference(&files).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's module table: rows missing for {missing:?}, rows for files that \
         do not exist {stale:?}"
    );
}
