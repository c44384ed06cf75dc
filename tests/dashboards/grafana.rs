//! The parts of a Grafana dashboard the tests read (variables, panels, their queries) and
//! how Grafana substitutes variables into a query before sending it to Prometheus.

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;

/// The dashboards shipped in `grafana/dashboards`, by file name.
pub const DASHBOARDS: [&str; 6] = [
    "contact-center.json",
    "exporter.json",
    "agents.json",
    "flows.json",
    "integrations.json",
    "voice.json",
];

/// The dashboards the example config of the documentation feeds (conversations and queue
/// observations); the others read the sources of the demo's built-in config.
pub const CONVERSATION_DASHBOARDS: [&str; 2] = ["contact-center.json", "exporter.json"];

/// Where the shipped Grafana files live.
pub fn grafana_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("grafana")
}

/// Reads and parses a shipped dashboard.
pub fn load(name: &str) -> Value {
    let path = grafana_dir().join("dashboards").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{} is not JSON: {err}", path.display()))
}

/// The dashboard's template variables, in the order Grafana resolves them.
pub fn variables(dashboard: &Value) -> Vec<&Value> {
    dashboard["templating"]["list"]
        .as_array()
        .map(|list| list.iter().collect())
        .unwrap_or_default()
}

/// Every panel, the panels inside rows included.
pub fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().into_iter().flatten() {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    all
}

/// The panels that follow the row whose title starts with `title`, up to the next row
/// (where a row that is not collapsed keeps its panels).
pub fn panels_under_row<'a>(dashboard: &'a Value, title: &str) -> Vec<&'a Value> {
    let mut under = Vec::new();
    let mut inside = false;
    for panel in panels(dashboard) {
        if is_row(panel) {
            inside = panel["title"]
                .as_str()
                .is_some_and(|t| t.starts_with(title));
        } else if inside {
            under.push(panel);
        }
    }
    under
}

/// The row whose title starts with `title`, if there is one.
pub fn row<'a>(dashboard: &'a Value, title: &str) -> Option<&'a Value> {
    panels(dashboard)
        .into_iter()
        .find(|p| is_row(p) && p["title"].as_str().is_some_and(|t| t.starts_with(title)))
}

/// Rows only group panels: they have no query, unit or description of their own.
pub fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

/// A query of a panel, with what is needed to name it in a message and to run it.
pub struct PanelQuery<'a> {
    pub panel: &'a str,
    pub ref_id: &'a str,
    pub expr: &'a str,
    /// Grafana runs it for one instant (stat, table) rather than over the time range.
    pub instant: bool,
}

/// Every query of every panel.
pub fn panel_queries(dashboard: &Value) -> Vec<PanelQuery<'_>> {
    panels(dashboard)
        .into_iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap_or("(untitled)");
            panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |target| PanelQuery {
                    panel: title,
                    ref_id: target["refId"].as_str().unwrap_or("?"),
                    expr: target["expr"].as_str().unwrap_or(""),
                    instant: target["instant"] == true && target["range"] != true,
                })
        })
        .collect()
}

/// A Prometheus variable query `label_values(label)` or `label_values(selector, label)`.
#[derive(Debug, PartialEq)]
pub struct LabelValues {
    pub selector: Option<String>,
    pub label: String,
}

/// Parses Grafana's `label_values` variable query; `None` for anything else.
pub fn parse_label_values(query: &str) -> Option<LabelValues> {
    let inner = query
        .trim()
        .strip_prefix("label_values(")?
        .strip_suffix(')')?
        .trim();
    // The label is after the last comma: selectors may hold commas, label names never.
    match inner.rsplit_once(',') {
        Some((selector, label)) => Some(LabelValues {
            selector: Some(selector.trim().to_string()),
            label: label.trim().to_string(),
        }),
        None => Some(LabelValues {
            selector: None,
            label: inner.to_string(),
        }),
    }
}

/// Where a query variable takes its values from.
#[derive(Debug, PartialEq)]
pub enum VariableSource {
    /// `label_values(selector, label)`: the label's values among the series (Prometheus'
    /// label values API).
    LabelValues(LabelValues),
    /// `query_result(expr)` with the regex `/label="([^"]+)"/`: the label's values among
    /// the results of an instant query, for a choice a series selector cannot make
    /// (`unless`, comparisons between series).
    QueryResult { expr: String, label: String },
}

impl VariableSource {
    /// The label whose values the variable takes.
    pub fn label(&self) -> &str {
        match self {
            VariableSource::LabelValues(values) => &values.label,
            VariableSource::QueryResult { label, .. } => label,
        }
    }

    /// The PromQL the variable runs: a series selector or an expression.
    pub fn expr(&self) -> Option<&str> {
        match self {
            VariableSource::LabelValues(values) => values.selector.as_deref(),
            VariableSource::QueryResult { expr, .. } => Some(expr),
        }
    }
}

/// Parses a query variable's source; `None` for a form the tests do not know.
pub fn variable_source(variable: &Value) -> Option<VariableSource> {
    let query = variable_query(variable);
    if let Some(labels) = parse_label_values(query) {
        return Some(VariableSource::LabelValues(labels));
    }
    let expr = query
        .trim()
        .strip_prefix("query_result(")?
        .strip_suffix(')')?
        .trim();
    let label = variable["regex"]
        .as_str()?
        .strip_prefix('/')?
        .strip_suffix(r#"="([^"]+)"/"#)?;
    let is_label_name =
        !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_label_name.then(|| VariableSource::QueryResult {
        expr: expr.to_string(),
        label: label.to_string(),
    })
}

/// The query of a `query` variable (Grafana stores a string or an object holding one).
pub fn variable_query(variable: &Value) -> &str {
    variable["query"]
        .as_str()
        .or_else(|| variable["query"]["query"].as_str())
        .unwrap_or("")
}

/// Replaces every `$name`, `${name}`, `${name:format}` and `[[name]]` in `text` with its
/// value, as Grafana does before sending a query; an unknown name is an error (Grafana
/// would send it as is, and Prometheus would answer nothing useful).
pub fn substitute(text: &str, values: &HashMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(['$', '[']) {
        out.push_str(&rest[..start]);
        let reference = &rest[start..];
        let (name, length) = if let Some(braced) = reference.strip_prefix("${") {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
            let name = braced[..end].split(':').next().unwrap_or("");
            (name, end + 3)
        } else if let Some(bracketed) = reference.strip_prefix("[[") {
            let end = bracketed
                .find("]]")
                .ok_or_else(|| format!("unclosed [[ in {text:?}"))?;
            (&bracketed[..end], end + 4)
        } else if let Some(plain) = reference.strip_prefix('$') {
            let end = plain
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(plain.len());
            (&plain[..end], end + 1)
        } else {
            // A `[` that opens a range selector, not a variable.
            out.push('[');
            rest = &reference[1..];
            continue;
        };
        if name.is_empty() {
            // A `$` on its own, as in the regex `.+$`: not a variable.
            out.push_str(&reference[..length]);
        } else {
            let value = values
                .get(name)
                .ok_or_else(|| format!("unknown variable ${name}"))?;
            out.push_str(value);
        }
        rest = &reference[length..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> HashMap<String, String> {
        [("job", ".+"), ("interval", "PT30M"), ("__interval", "1s")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn substitutes_every_form_and_keeps_range_selectors() {
        let query = r#"rate(x{job=~"$job", interval="${interval}", b="[[job]]", c="${job:regex}"}[$__interval])"#;
        assert_eq!(
            substitute(query, &values()).unwrap(),
            r#"rate(x{job=~".+", interval="PT30M", b=".+", c=".+"}[1s])"#
        );
        assert_eq!(substitute("x[5m]", &values()).unwrap(), "x[5m]");
    }

    #[test]
    fn a_longer_name_is_not_a_shorter_variable() {
        // `$interval_x` is its own (unknown) variable, not `$interval` followed by `_x`.
        assert_eq!(
            substitute("$interval_x", &values()),
            Err("unknown variable $interval_x".to_string())
        );
        assert_eq!(substitute("$__interval", &values()).unwrap(), "1s");
    }

    #[test]
    fn parses_label_values_with_and_without_a_selector() {
        assert_eq!(
            parse_label_values(r#"label_values(up{job=~"$job", a="b"}, instance)"#),
            Some(LabelValues {
                selector: Some(r#"up{job=~"$job", a="b"}"#.to_string()),
                label: "instance".to_string()
            })
        );
        assert_eq!(
            parse_label_values("label_values(job)"),
            Some(LabelValues {
                selector: None,
                label: "job".to_string()
            })
        );
        assert_eq!(parse_label_values("query_result(up)"), None);
    }

    #[test]
    fn parses_query_result_with_the_regex_that_takes_one_label() {
        let variable = serde_json::json!({
            "query": "query_result(count by (query) (up))",
            "regex": r#"/query="([^"]+)"/"#,
        });
        assert_eq!(
            variable_source(&variable),
            Some(VariableSource::QueryResult {
                expr: "count by (query) (up)".to_string(),
                label: "query".to_string()
            })
        );
        // Any other regex could keep something else than one label's values.
        let other = serde_json::json!({"query": "query_result(up)", "regex": "/.*/"});
        assert_eq!(variable_source(&other), None);
    }
}
