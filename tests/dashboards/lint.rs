//! A lint of the dashboard conventions (those of Grafana's dashboard-linter, which cannot
//! be installed here), written against the dashboard JSON and a real PromQL parser.
//!
//! Each rule says why it matters when it fails, so that a report can be acted on.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::{self, Expr, VectorSelector};
use serde_json::Value;

use crate::grafana;

/// Units a panel may use: seconds for durations, `percentunit` for ratios (0..1),
/// `short` for counts.
const UNITS: [&str; 3] = ["s", "percentunit", "short"];

/// Schema versions of current Grafana releases (10.x writes 38-39, 11.x 39-41; older
/// versions migrate forward, newer ones than a Grafana knows may not load).
const SCHEMA_VERSIONS: std::ops::RangeInclusive<i64> = 36..=41;

/// The variables that select the exporter: every query must be filtered by them, so that
/// one Grafana can show several exporters (per environment, per org) apart.
const SCOPE_VARIABLES: [&str; 2] = ["job", "instance"];

/// The prefix of the conversation metrics: one series per interval of one query, so
/// series of different queries or granularities cover the same conversations.
const CONVERSATION_PREFIX: &str = "genesys_conversation_";

/// The prefix of the queue observation metrics: what is happening now, one series per
/// queue (and media type, routing status...) of one observation set.
const OBSERVATION_PREFIX: &str = "genesys_queue_";

/// The label that names the query or observation set of a series. One query's series have
/// one granularity, so a selector of one query's series cannot add up two of anything.
const QUERY_LABEL: &str = "query";

/// Functions through which a counter may be read.
const COUNTER_FUNCTIONS: [&str; 2] = ["rate", "increase"];

/// Functions that only make sense on counters.
const COUNTER_ONLY_FUNCTIONS: [&str; 4] = ["rate", "increase", "irate", "resets"];

/// Stand-ins for Grafana's interval variables while parsing: distinctive durations, so
/// that a parsed range tells which variable it came from.
const RATE_INTERVAL: Duration = Duration::from_secs(7331);
const INTERVAL: Duration = Duration::from_secs(7333);
const RANGE: Duration = Duration::from_secs(7349);

/// What the lint needs to know beyond the dashboard.
pub struct Rules<'a> {
    /// Variables this dashboard must offer besides `datasource`, `job` and `instance`.
    pub required_variables: &'a [&'a str],
    /// Single-select variables that every conversation selector must be filtered by
    /// (`interval`, `query`): summed across two of their values, each conversation
    /// would count twice.
    pub one_at_a_time: &'a [&'a str],
    /// The variable that picks observation sets (`observation`), if the dashboard shows
    /// them: every observation selector must be filtered by `query="$it"`, or by
    /// `query=~"$it"` in a row repeated over it. Two sets that observe the same queue
    /// would add up its waiting conversations twice.
    pub observation: Option<&'a str>,
    /// Sample names of counters (and histogram series), which only make sense through
    /// `rate`/`increase`.
    pub counters: &'a HashSet<String>,
}

/// The sample names of the exporter's counters and histograms, from its own registry: a
/// counter `x_total`; a histogram's `x_bucket`, `x_sum` and `x_count`. Every conversation
/// metric is a gauge. By Prometheus naming, any `_total` is a counter too.
pub fn exporter_counters() -> HashSet<String> {
    let telemetry = genesys_cloud_exporter::telemetry::Telemetry::new(60);
    // A labelled family is only encoded once it has a series: give each one.
    telemetry.register_query("lint");
    telemetry.observe_api_request("aggregates", "200", 0.1);
    telemetry.observe_poll("lint", Some(0.0), 0.1);
    let mut text = String::new();
    telemetry
        .encode_prometheus_text(&mut text)
        .expect("self-metrics encode");
    let mut counters = HashSet::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
            (words.next(), words.next(), words.next(), words.next())
        {
            match kind {
                "counter" => {
                    counters.insert(name.to_string());
                }
                "histogram" => {
                    for suffix in ["bucket", "sum", "count"] {
                        counters.insert(format!("{name}_{suffix}"));
                    }
                }
                _ => {}
            }
        }
    }
    counters
}

/// The datasource reference every panel, query and variable must use.
fn uses_datasource_variable(datasource: &Value) -> bool {
    datasource["uid"] == "${datasource}"
        && (datasource["type"].is_null() || datasource["type"] == "prometheus")
}

/// Every problem found in `dashboard`, each naming where it is.
pub fn lint(dashboard: &Value, rules: &Rules) -> Vec<String> {
    let mut problems = Vec::new();
    lint_dashboard(dashboard, &mut problems);
    let declared = lint_variables(dashboard, rules, &mut problems);
    lint_panels(dashboard, rules, &declared, &mut problems);
    problems
}

fn lint_dashboard(dashboard: &Value, problems: &mut Vec<String>) {
    let text = dashboard.to_string();
    if !dashboard["__inputs"].is_null() || text.contains("${DS_") {
        problems.push(
            "dashboard: has `__inputs` / `${DS_...}` placeholders, which only UI import resolves; \
             file provisioning would leave them unresolved"
                .into(),
        );
    }
    match dashboard["uid"].as_str() {
        Some(uid)
            if !uid.is_empty()
                && uid.len() <= 40
                && uid
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => {}
        _ => problems.push(
            "dashboard: needs a fixed `uid` (1-40 letters, digits, - or _) so links and \
             re-imports keep pointing at it"
                .into(),
        ),
    }
    if !dashboard["id"].is_null() {
        problems.push(
            "dashboard: `id` must be null: a fixed id collides with another dashboard's on import"
                .into(),
        );
    }
    match dashboard["schemaVersion"].as_i64() {
        Some(version) if SCHEMA_VERSIONS.contains(&version) => {}
        other => problems.push(format!(
            "dashboard: schemaVersion {other:?} is not one current Grafana writes ({SCHEMA_VERSIONS:?})"
        )),
    }
    if dashboard["title"].as_str().is_none_or(str::is_empty) {
        problems.push("dashboard: needs a title".into());
    }
    if dashboard["editable"] != false {
        problems.push(
            "dashboard: must be `editable: false`: it is provisioned from a file, so UI edits \
             are lost on the next change (save a copy to change it)"
                .into(),
        );
    }
}

/// Lints the variables; returns the names declared (for the queries' references).
fn lint_variables(dashboard: &Value, rules: &Rules, problems: &mut Vec<String>) -> Vec<String> {
    let variables = grafana::variables(dashboard);
    let datasources: Vec<&&Value> = variables
        .iter()
        .filter(|v| v["type"] == "datasource")
        .collect();
    match datasources.as_slice() {
        [only] if only["name"] == "datasource" && only["query"] == "prometheus" => {}
        _ => problems.push(format!(
            "variables: need exactly one `datasource` variable of type datasource over \
             prometheus, found {}",
            datasources.len()
        )),
    }
    for name in SCOPE_VARIABLES {
        match variables.iter().find(|v| v["name"] == name) {
            Some(v)
                if v["type"] == "query"
                    && v["multi"] == true
                    && v["includeAll"] == true
                    && v["allValue"] == ".+" => {}
            Some(_) => problems.push(format!(
                "variable {name}: must be a multi-select query variable with All and allValue `.+`"
            )),
            None => problems.push(format!("variables: `{name}` is missing")),
        }
    }
    for name in rules.required_variables {
        if !variables.iter().any(|v| v["name"] == *name) {
            problems.push(format!("variables: `{name}` is missing"));
        }
    }
    for name in rules.one_at_a_time {
        let single = variables
            .iter()
            .find(|v| v["name"] == *name)
            .is_some_and(|v| {
                v["type"] == "query" && v["multi"] == false && v["includeAll"] == false
            });
        if !single {
            problems.push(format!(
                "variable {name}: must be a single-select query variable without All, or \
                 two of its values add up"
            ));
        }
    }

    let mut declared = Vec::new();
    for variable in &variables {
        let name = variable["name"].as_str().unwrap_or("").to_string();
        if variable["type"] == "query" {
            if !uses_datasource_variable(&variable["datasource"]) {
                problems.push(format!(
                    "variable {name}: must query the datasource `${{datasource}}`"
                ));
            }
            let source = grafana::variable_source(variable);
            match source.as_ref().and_then(|source| source.expr()) {
                Some(selector) => {
                    // A variable can only be filtered by the scope variables before it.
                    let scope: Vec<&str> = SCOPE_VARIABLES
                        .into_iter()
                        .filter(|s| declared.iter().any(|d| d == s))
                        .collect();
                    // A row's repeat variable chooses among the values of a one-at-a-time
                    // label itself, one per copy of the row.
                    // One that repeats a row over queries chooses one query per copy, of one
                    // granularity: no other one-at-a-time variable applies to it.
                    let repeats = repeat_variables(dashboard);
                    let chooses_queries = repeats
                        .iter()
                        .any(|(label, v)| label == QUERY_LABEL && v == &name);
                    let one_at_a_time: Vec<&str> = rules
                        .one_at_a_time
                        .iter()
                        .copied()
                        .filter(|s| declared.iter().any(|d| d == s))
                        .filter(|s| !repeats.iter().any(|(label, v)| label == s && v == &name))
                        .filter(|_| !chooses_queries)
                        .collect();
                    let context = format!("variable {name}");
                    let filters = Filters {
                        scope: &scope,
                        one_at_a_time: &one_at_a_time,
                        repeated: None,
                        // The variable that lists observation sets reads them unfiltered.
                        observation: None,
                    };
                    lint_expr(&context, selector, &declared, &filters, rules, problems);
                }
                None => problems.push(format!(
                    "variable {name}: query {:?} is not label_values(selector, label) nor \
                     query_result(expr) with the regex /label=\"([^\"]+)\"/",
                    grafana::variable_query(variable)
                )),
            }
        }
        declared.push(name);
    }
    declared
}

fn lint_panels(dashboard: &Value, rules: &Rules, declared: &[String], problems: &mut Vec<String>) {
    let mut ids = HashSet::new();
    let repeats = repeat_variables(dashboard);
    // Panels after a row belong to it, up to the next row.
    let mut repeated: Option<(&str, &str)> = None;
    for panel in grafana::panels(dashboard) {
        let title = panel["title"].as_str().unwrap_or("");
        let name = format!("panel {:?} ({})", title, panel["id"]);
        if !ids.insert(panel["id"].to_string()) || panel["id"].is_null() {
            problems.push(format!("{name}: needs an id of its own"));
        }
        if title.is_empty() {
            problems.push(format!("{name}: needs a title"));
        }
        if grafana::is_row(panel) {
            repeated = panel["repeat"].as_str().and_then(|repeat| {
                repeats
                    .iter()
                    .find(|(_, v)| v == repeat)
                    .map(|(label, v)| (label.as_str(), v.as_str()))
            });
            continue;
        }
        if panel["description"].as_str().is_none_or(str::is_empty) {
            problems.push(format!("{name}: needs a description saying what it shows"));
        }
        if !uses_datasource_variable(&panel["datasource"]) {
            problems.push(format!("{name}: must use the datasource `${{datasource}}`"));
        }
        unit_check(
            &name,
            "unit",
            &panel["fieldConfig"]["defaults"]["unit"],
            problems,
        );
        let override_units = panel["fieldConfig"]["overrides"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|o| o["properties"].as_array().into_iter().flatten())
            .filter(|p| p["id"] == "unit");
        for property in override_units {
            unit_check(&name, "override unit", &property["value"], problems);
        }
        let targets = panel["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            problems.push(format!("{name}: has no query"));
        }
        for target in &targets {
            let context = format!("{name} query {}", target["refId"]);
            if !uses_datasource_variable(&target["datasource"]) {
                problems.push(format!(
                    "{context}: must use the datasource `${{datasource}}`"
                ));
            }
            let expr = target["expr"].as_str().unwrap_or("");
            let filters = Filters {
                scope: &SCOPE_VARIABLES,
                one_at_a_time: rules.one_at_a_time,
                repeated,
                observation: rules.observation,
            };
            lint_expr(&context, expr, declared, &filters, rules, problems);
        }
    }
}

fn unit_check(name: &str, what: &str, unit: &Value, problems: &mut Vec<String>) {
    if !unit.as_str().is_some_and(|u| UNITS.contains(&u)) {
        problems.push(format!("{name}: {what} {unit} is not one of {UNITS:?}"));
    }
}

/// The variables a selector must be filtered by.
struct Filters<'a> {
    /// Every selector: `name=~"$name"`.
    scope: &'a [&'a str],
    /// Conversation selectors: `name="$name"` or `name=~"$name"`.
    one_at_a_time: &'a [&'a str],
    /// In a row repeated over a variable of `label` values, (`label`, the variable): each
    /// copy of the row has one of its values, so `label=~"$variable"` filters the label
    /// one at a time as `label="$label"` would.
    repeated: Option<(&'a str, &'a str)>,
    /// Observation selectors: `query="$observation"` (see [`Rules::observation`]).
    observation: Option<&'a str>,
}

/// The rows repeated over a variable: the variable, and the label whose values it takes.
fn repeat_variables(dashboard: &Value) -> Vec<(String, String)> {
    let variables = grafana::variables(dashboard);
    grafana::panels(dashboard)
        .into_iter()
        .filter(|p| grafana::is_row(p))
        .filter_map(|row| row["repeat"].as_str())
        .filter_map(|repeat| {
            let variable = variables.iter().find(|v| v["name"] == repeat)?;
            let label = grafana::variable_source(variable)?.label().to_string();
            Some((label, repeat.to_string()))
        })
        .collect()
}

/// Parses `expr` (variables kept, interval variables replaced by stand-ins) and checks
/// its selectors.
fn lint_expr(
    context: &str,
    expr: &str,
    declared: &[String],
    filters: &Filters,
    rules: &Rules,
    problems: &mut Vec<String>,
) {
    let mut values: HashMap<String, String> = declared
        .iter()
        .map(|d| (d.clone(), format!("${d}")))
        .collect();
    for (name, stand_in) in [
        ("__rate_interval", RATE_INTERVAL),
        ("__interval", INTERVAL),
        ("__range", RANGE),
    ] {
        values.insert(name.into(), format!("{}s", stand_in.as_secs()));
    }
    let parsed = grafana::substitute(expr, &values).and_then(|text| parser::parse(&text));
    match parsed {
        Ok(ast) => {
            let mut check = ExprCheck {
                context,
                filters,
                rules,
                problems,
            };
            check.walk(&ast);
        }
        Err(err) => problems.push(format!("{context}: {err} in {expr:?}")),
    }
}

/// The metric name a selector selects, if it names one.
fn metric_name(selector: &VectorSelector) -> Option<&str> {
    selector.name.as_deref().or_else(|| {
        selector
            .matchers
            .matchers
            .iter()
            .find(|m| m.name == "__name__" && matches!(m.op, MatchOp::Equal))
            .map(|m| m.value.as_str())
    })
}

/// Every metric name the selectors of a parsed expression select.
pub fn metric_names(ast: &Expr, names: &mut BTreeSet<String>) {
    for selector in selectors(ast) {
        if let Some(name) = metric_name(selector) {
            names.insert(name.to_string());
        }
    }
}

/// Every vector selector of an expression (those inside range selectors included).
fn selectors(ast: &Expr) -> Vec<&VectorSelector> {
    match ast {
        Expr::VectorSelector(selector) => vec![selector],
        Expr::MatrixSelector(matrix) => vec![&matrix.vs],
        Expr::Aggregate(aggregate) => {
            let mut all = selectors(&aggregate.expr);
            if let Some(param) = &aggregate.param {
                all.extend(selectors(param));
            }
            all
        }
        Expr::Unary(unary) => selectors(&unary.expr),
        Expr::Binary(binary) => {
            let mut all = selectors(&binary.lhs);
            all.extend(selectors(&binary.rhs));
            all
        }
        Expr::Paren(paren) => selectors(&paren.expr),
        Expr::Subquery(subquery) => selectors(&subquery.expr),
        Expr::Call(call) => call.args.args.iter().flat_map(|a| selectors(a)).collect(),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => vec![],
    }
}

/// Walks an expression, checking each selector in the context of the call around it.
struct ExprCheck<'a> {
    context: &'a str,
    filters: &'a Filters<'a>,
    rules: &'a Rules<'a>,
    problems: &'a mut Vec<String>,
}

impl ExprCheck<'_> {
    fn walk(&mut self, ast: &Expr) {
        match ast {
            Expr::Call(call) => {
                let function = call.func.name;
                for argument in &call.args.args {
                    match argument.as_ref() {
                        Expr::MatrixSelector(matrix)
                            if COUNTER_ONLY_FUNCTIONS.contains(&function) =>
                        {
                            self.counter_call(function, &matrix.vs, matrix.range)
                        }
                        other => self.walk(other),
                    }
                }
            }
            Expr::MatrixSelector(matrix) => {
                self.filters(&matrix.vs);
                if let Some(name) = self.counter(&matrix.vs) {
                    self.problems.push(format!(
                        "{}: counter {name} in a range outside rate/increase",
                        self.context
                    ));
                }
            }
            Expr::VectorSelector(selector) => {
                self.filters(selector);
                if let Some(name) = self.counter(selector) {
                    self.problems.push(format!(
                        "{}: counter {name} read raw: its value is a running total since the \
                         exporter started; use rate or increase",
                        self.context
                    ));
                }
            }
            Expr::Aggregate(aggregate) => {
                self.walk(&aggregate.expr);
                if let Some(param) = &aggregate.param {
                    self.walk(param);
                }
            }
            Expr::Unary(unary) => self.walk(&unary.expr),
            Expr::Binary(binary) => {
                self.walk(&binary.lhs);
                self.walk(&binary.rhs);
            }
            Expr::Paren(paren) => self.walk(&paren.expr),
            Expr::Subquery(subquery) => self.walk(&subquery.expr),
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
        }
    }

    /// `function(selector[range])` where `function` only makes sense on counters.
    fn counter_call(&mut self, function: &str, selector: &VectorSelector, range: Duration) {
        self.filters(selector);
        let name = metric_name(selector).unwrap_or("(unnamed)");
        if self.counter(selector).is_none() {
            self.problems.push(format!(
                "{}: {function}() over {name}, which is not a counter",
                self.context
            ));
        }
        if !COUNTER_FUNCTIONS.contains(&function) {
            self.problems.push(format!(
                "{}: {function}() over {name}: read counters through rate or increase",
                self.context
            ));
        }
        if range != RATE_INTERVAL {
            self.problems.push(format!(
                "{}: {function}() over {name} must use [$__rate_interval], which Grafana keeps \
                 at four scrape intervals or more so there are always samples to compare",
                self.context
            ));
        }
    }

    fn counter<'s>(&self, selector: &'s VectorSelector) -> Option<&'s str> {
        metric_name(selector)
            .filter(|name| self.rules.counters.contains(*name) || name.ends_with("_total"))
    }

    /// The selector must be filtered by every scope variable (`name=~"$name"`), and a
    /// conversation selector by every one-at-a-time variable too.
    fn filters(&mut self, selector: &VectorSelector) {
        let groups: Vec<&Vec<Matcher>> = if selector.matchers.or_matchers.is_empty() {
            vec![&selector.matchers.matchers]
        } else {
            selector.matchers.or_matchers.iter().collect()
        };
        let repeated = self.filters.repeated;
        let filtered_by = |variable: &str, exact_too: bool| {
            groups.iter().all(|matchers| {
                matchers.iter().any(|m| {
                    let by = |value: &str| {
                        m.name == variable
                            && (matches!(m.op, MatchOp::Re(_))
                                || (exact_too && matches!(m.op, MatchOp::Equal)))
                            && m.value == format!("${value}")
                    };
                    by(variable)
                        || repeated.is_some_and(|(label, repeat)| label == variable && by(repeat))
                })
            })
        };
        let name = metric_name(selector).unwrap_or("(unnamed)");
        let conversation = name.starts_with(CONVERSATION_PREFIX);
        // In a row repeated over queries, a selector of the row's query is one query's
        // series: nothing adds up.
        let one_query = repeated.is_some_and(|(label, repeat)| {
            label == QUERY_LABEL
                && groups.iter().all(|matchers| {
                    matchers.iter().any(|m| {
                        m.name == QUERY_LABEL
                            && matches!(m.op, MatchOp::Re(_) | MatchOp::Equal)
                            && m.value == format!("${repeat}")
                    })
                })
        });
        if let Some(observation) = self.filters.observation
            && name.starts_with(OBSERVATION_PREFIX)
        {
            let by_set = groups.iter().all(|matchers| {
                matchers.iter().any(|m| {
                    m.name == QUERY_LABEL
                        && m.value == format!("${observation}")
                        && (matches!(m.op, MatchOp::Equal)
                            || (matches!(m.op, MatchOp::Re(_))
                                && repeated.is_some_and(|(_, r)| r == observation)))
                })
            });
            if !by_set {
                self.problems.push(format!(
                    "{}: observation selector {name} is not filtered by {QUERY_LABEL}=\"${observation}\" \
                     (or =~ in a row repeated over ${observation}): two observation sets of one \
                     queue would add up",
                    self.context
                ));
            }
        }
        if conversation && !one_query {
            for variable in self.filters.one_at_a_time {
                if !filtered_by(variable, true) {
                    self.problems.push(format!(
                        "{}: selector {name} is not filtered by {variable}=\"${variable}\": \
                         series of two {variable}s would add up",
                        self.context,
                    ));
                }
            }
        }
        for variable in self.filters.scope {
            let filtered = filtered_by(variable, false);
            if !filtered {
                self.problems.push(format!(
                    "{}: selector {name} is not filtered by {variable}=~\"${variable}\"",
                    self.context,
                ));
            }
        }
    }
}
