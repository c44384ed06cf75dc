//! The Grafana dashboards in `grafana/`: they follow the lint conventions, the
//! provisioning files load them, and every query they hold answers with data from a real
//! Prometheus server (Debian's `prometheus`) that has scraped the exporter in demo mode.

#[path = "../common/mod.rs"]
mod common;
mod grafana;
mod lint;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use serde_json::{Value, json};

use common::ExporterRun;
use common::prometheus::{JOB, Prometheus, SCRAPE_INTERVAL, scraping_the_demo_with};

/// Variables the contact-center overview must offer besides `datasource`, `job` and
/// `instance`: the observation sets of its Now row and the `period: current` queries of
/// its Today so far row among them.
const OVERVIEW_VARIABLES: [&str; 6] = [
    "queue_name",
    "media_type",
    "interval",
    "query",
    OBSERVATION_VARIABLE,
    "today_query",
];

/// The overview's variable that picks queue observation sets (their `query` label).
const OBSERVATION_VARIABLE: &str = "observation";

/// The overview's single-select variables: one granularity and one query at a time, so
/// that no conversation is counted twice.
const OVERVIEW_ONE_AT_A_TIME: [&str; 2] = ["interval", "query"];

fn rules_for<'a>(name: &str, counters: &'a HashSet<String>) -> lint::Rules<'a> {
    let overview = name == "contact-center.json";
    let (required_variables, one_at_a_time): (&[&str], &[&str]) = if overview {
        (&OVERVIEW_VARIABLES, &OVERVIEW_ONE_AT_A_TIME)
    } else {
        (&[], &[])
    };
    lint::Rules {
        required_variables,
        one_at_a_time,
        observation: overview.then_some(OBSERVATION_VARIABLE),
        counters,
    }
}

#[test]
fn the_dashboards_follow_the_conventions() {
    let counters = lint::exporter_counters();
    for counter in [
        "genesys_exporter_api_requests_total",
        "genesys_exporter_api_request_duration_seconds_bucket",
        "genesys_exporter_polls_delayed_total",
    ] {
        assert!(counters.contains(counter), "{counter} not in {counters:?}");
    }
    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    for name in grafana::DASHBOARDS {
        let dashboard = grafana::load(name);
        let rules = rules_for(name, &counters);
        problems.extend(
            lint::lint(&dashboard, &rules)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
        uids.insert(dashboard["uid"].to_string());
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(uids.len(), grafana::DASHBOARDS.len(), "uids must differ");
}

/// A panel the issue asks for: its title and a series its query reads.
type PanelWanted = (&'static str, &'static str);

/// What issues 23 and 26 ask each dashboard to show, by its rows: the row (by the start of
/// its title), the variable it repeats over (its source's queries or observation sets, so
/// it shows only when they exist) and a series each of its panels reads.
const DOMAIN_ROWS: [(&str, &str, &str, &[&str]); 11] = [
    (
        "agents.json",
        "Now",
        "agents_set",
        &[
            "genesys_agents_routing_status",
            "genesys_agents_system_presence",
            "genesys_agents_presence",
            "genesys_agents_out_of_office",
            "genesys_agents_adherence_state",
            "genesys_agents_scheduled_activity_category",
            "genesys_agents_actual_activity_category",
        ],
    ),
    (
        "agents.json",
        "Time",
        "users_query",
        &[
            "genesys_user_agent_routing_status_seconds_sum",
            "genesys_user_system_presence_seconds_sum",
            "genesys_user_organization_presence_seconds_sum",
            "sum by (user_id, user_name)",
        ],
    ),
    (
        "flows.json",
        "Flows",
        "flows_query",
        &[
            "genesys_flow_count",
            "genesys_flow_exit_seconds_count",
            "genesys_flow_disconnect_seconds_count",
            "genesys_flow_outcome_failed",
            "genesys_flow_outcome{",
            "genesys_flow_duration_seconds_sum",
        ],
    ),
    (
        "flows.json",
        "Flow executions",
        "flow_executions_query",
        &["genesys_flow_execution_count"],
    ),
    (
        "integrations.json",
        "Data actions",
        "actions_query",
        &[
            "genesys_action_total_execution_seconds_count",
            "error_type!=\"\"",
            "genesys_action_total_execution_seconds_sum",
        ],
    ),
    (
        "integrations.json",
        "Bots",
        "bots_query",
        &[
            "genesys_bot_sessions",
            "genesys_bot_session_turns",
            "genesys_bot_recognition_failure_seconds_count",
            "genesys_bot_exit_seconds_count",
            "genesys_bot_disconnect_seconds_count",
            "genesys_bot_session_seconds_sum",
        ],
    ),
    (
        "contact-center.json",
        "Surveys",
        "survey_query",
        &[
            "genesys_survey_nps_promoters",
            "genesys_survey_nps_detractors",
            "genesys_survey_nps_responses",
            "genesys_survey_responses",
            "genesys_survey_sent",
            "genesys_survey_total_score_sum",
        ],
    ),
    (
        "contact-center.json",
        "Evaluations",
        "evaluation_query",
        &[
            "genesys_evaluation_count",
            "genesys_evaluation_total_score_sum",
            "genesys_evaluation_total_critical_score_sum",
        ],
    ),
    (
        "exporter.json",
        "Genesys rate-limit events",
        "rate_limits_query",
        &[
            "genesys_rate_limit_recorded_count",
            "genesys_rate_limit_recorded_max",
        ],
    ),
    (
        "voice.json",
        "Voice quality",
        "voice_query",
        &[
            "genesys_voice_mos_bucket",
            "genesys_voice_mos_sum",
            "genesys_voice_mos_count",
            "genesys_voice_conversations_below_mos_threshold",
            "genesys_voice_packets_lost",
            "genesys_voice_packets_received",
            "genesys_voice_max_latency_seconds",
            "by (queue_name)",
            "by (edge_id)",
        ],
    ),
    (
        "voice.json",
        "Trunks",
        "trunk_set",
        &[
            "genesys_trunk_connected",
            "genesys_trunk_in_service",
            "genesys_trunk_calls",
            "genesys_trunk_qos_mismatches",
            "by (trunk_name, direction)",
        ],
    ),
];

/// Issues 23's and 26's rows: each exists, repeats over its variable, and its panels read
/// what the issue asks for through that variable (`query=~"$variable"`).
#[test]
fn the_dashboards_show_every_domain_issues_23_and_26_ask_for() {
    for (name, row_title, variable, series) in DOMAIN_ROWS {
        let dashboard = grafana::load(name);
        let row = grafana::row(&dashboard, row_title)
            .unwrap_or_else(|| panic!("{name}: no {row_title} row"));
        assert_eq!(row["repeat"], variable, "{name}: {row_title} row");
        let through = format!("query=~\"${variable}\"");
        let exprs: Vec<String> = grafana::panels_under_row(&dashboard, row_title)
            .iter()
            .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
            .filter_map(|t| t["expr"].as_str().map(String::from))
            .collect();
        assert!(!exprs.is_empty(), "{name}: nothing under {row_title}");
        for expr in &exprs {
            assert!(
                expr.contains(&through),
                "{name}: {expr} not through {through}"
            );
        }
        for wanted in series {
            assert!(
                exprs.iter().any(|e| e.contains(wanted)),
                "{name}: no panel of the {row_title} row reads {wanted}"
            );
        }
    }
    // Occupancy and utilization per agent, by Genesys' definitions (docs/operations.md).
    let agents = grafana::load("agents.json");
    let titles: Vec<&str> = grafana::panels(&agents)
        .iter()
        .filter_map(|p| p["title"].as_str())
        .collect();
    for title in [
        "Occupancy per agent",
        "Utilization per agent",
        "Occupancy",
        "Utilization",
    ] {
        assert!(titles.contains(&title), "agents.json: no panel {title:?}");
    }
}

/// What issues 3 and 12 ask each dashboard to show, by the series behind it, so that a panel
/// dropped by mistake is noticed.
#[test]
fn the_dashboards_show_what_the_issue_asks_for() {
    let wanted: [(&str, &[&str]); 2] = [
        (
            "contact-center.json",
            &[
                "genesys_conversation_offered",
                "genesys_conversation_answered_seconds_count",
                "genesys_conversation_abandon_seconds_count",
                "genesys_conversation_handle_seconds_sum",
                "genesys_conversation_handle_seconds_count",
                "genesys_conversation_answered_seconds_sum",
                "genesys_conversation_service_level_numerator",
                "genesys_conversation_service_level_target",
                "genesys_conversation_transferred",
                "genesys_conversation_talk_seconds_sum",
                "genesys_conversation_held_seconds_sum",
                "genesys_conversation_acw_seconds_sum",
                "sum by (user_id, user_name)",
            ],
        ),
        (
            "exporter.json",
            &[
                "genesys_exporter_query_up",
                "genesys_exporter_query_last_success_timestamp_seconds",
                "genesys_exporter_api_requests_total",
                r#"code="429""#,
                "genesys_exporter_api_rate_limit_remaining",
                "genesys_exporter_query_duration_seconds",
                "genesys_exporter_polls_delayed_total",
                "genesys_exporter_token_renewals_total",
            ],
        ),
    ];
    for (name, series) in wanted {
        let dashboard = grafana::load(name);
        let queries: Vec<&str> = grafana::panel_queries(&dashboard)
            .iter()
            .map(|q| q.expr)
            .collect();
        for wanted in series {
            assert!(
                queries.iter().any(|q| q.contains(wanted)),
                "{name}: no panel shows {wanted}"
            );
        }
    }
    let overview = grafana::load("contact-center.json");
    // Issue 12: a Now row fed by the queue observations of the chosen set, and Today so
    // far stats fed by the `period: current` queries, each row repeated over its variable
    // (so it shows only when such series exist); each panel by its title and the series
    // it reads, through the row's variable.
    let rows: [(&str, &str, &[PanelWanted]); 2] = [
        (
            "Now",
            OBSERVATION_VARIABLE,
            &[
                (
                    "Waiting per queue",
                    "sum by (queue_name) (genesys_queue_waiting{",
                ),
                (
                    "Oldest wait per queue",
                    "max by (queue_name) (genesys_queue_oldest_waiting_seconds{",
                ),
                (
                    "Interacting per queue",
                    "sum by (queue_name) (genesys_queue_interacting{",
                ),
                (
                    "Agents on queue by routing status",
                    "sum by (routing_status) (genesys_queue_on_queue_users{",
                ),
                (
                    "Age of the observations",
                    "genesys_queue_observation_timestamp_seconds{",
                ),
            ],
        ),
        (
            "Today so far",
            "today_query",
            &[
                ("Offered today", "genesys_conversation_offered{"),
                (
                    "Answered today",
                    "genesys_conversation_answered_seconds_count{",
                ),
                (
                    "Abandoned today",
                    "genesys_conversation_abandon_seconds_count{",
                ),
                (
                    "Service level today",
                    "genesys_conversation_service_level_denominator{",
                ),
                (
                    "Average handle time today",
                    "genesys_conversation_handle_seconds_sum{",
                ),
                (
                    "Average speed of answer today",
                    "genesys_conversation_answered_seconds_sum{",
                ),
                (
                    "Age of today's data",
                    "genesys_conversation_data_until_timestamp_seconds{",
                ),
            ],
        ),
    ];
    for (row_title, variable, wanted) in rows {
        let in_row = grafana::panels_under_row(&overview, row_title);
        let row =
            grafana::row(&overview, row_title).unwrap_or_else(|| panic!("no {row_title} row"));
        assert_eq!(row["repeat"], variable, "{row_title} row");
        for (title, series) in wanted {
            let panel = in_row
                .iter()
                .find(|p| p["title"] == *title)
                .unwrap_or_else(|| panic!("no panel {title:?} in the {row_title} row"));
            let exprs: Vec<&str> = panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t["expr"].as_str())
                .collect();
            let through = format!("query=~\"${variable}\"");
            assert!(
                exprs
                    .iter()
                    .any(|e| e.contains(series) && e.contains(&through)),
                "{title:?} does not read {series} through {through}: {exprs:?}"
            );
        }
    }
    let kinds: BTreeSet<&str> = grafana::panels(&overview)
        .iter()
        .filter_map(|p| p["type"].as_str())
        .collect();
    for kind in ["stat", "timeseries", "table"] {
        assert!(kinds.contains(kind), "no {kind} panel in {kinds:?}");
    }
    // The Agents row repeats over the queries that group by userId: with none, no row.
    let agents = grafana::panels(&overview)
        .into_iter()
        .find(|p| {
            grafana::is_row(p) && p["title"].as_str().is_some_and(|t| t.starts_with("Agents"))
        })
        .expect("an Agents row");
    assert_eq!(agents["repeat"], "agents_query");
}

/// Breaks a copy of the overview in one way per rule and checks that the lint names each.
#[test]
fn the_lint_reports_what_is_broken() {
    let counters = lint::exporter_counters();
    let rules = rules_for("contact-center.json", &counters);
    let mut broken = grafana::load("contact-center.json");
    broken["editable"] = json!(true);
    broken["__inputs"] = json!([{"name": "DS_PROMETHEUS", "type": "datasource"}]);
    broken["schemaVersion"] = json!(16);
    broken["uid"] = json!(null);
    let variables = broken["templating"]["list"].as_array_mut().unwrap();
    variables.retain(|v| v["name"] != "media_type");
    for variable in variables.iter_mut() {
        if variable["name"] == "instance" {
            variable["multi"] = json!(false);
        }
        if variable["name"] == "query" {
            variable["multi"] = json!(true);
        }
    }
    let panels = broken["panels"].as_array_mut().unwrap();
    // The Now row comes first: an observation selector without its set, and one that
    // takes them all outside the row repeated over them.
    let now = grafana::panels_under_row(&grafana::load("contact-center.json"), "Now").len();
    assert!(now > 2, "{now} panels in the Now row");
    panels[1]["targets"][0]["expr"] =
        json!(r#"sum(genesys_queue_waiting{job=~"$job", instance=~"$instance"})"#);
    let last_completed = panels
        .iter()
        .position(|p| p["title"] == "Last completed interval")
        .expect("a Last completed interval row");
    // Panel 2 is the first stat under the Last completed interval row.
    let panels = &mut panels[last_completed..];
    panels[5]["targets"][0]["expr"] = json!(
        r#"sum(genesys_queue_interacting{job=~"$job", instance=~"$instance", query=~"$observation"})"#
    );
    let stat = &mut panels[1];
    stat["description"] = json!("");
    stat["fieldConfig"]["defaults"]["unit"] = json!("bytes");
    stat["datasource"] = json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"});
    stat["targets"][0]["expr"] = json!(
        r#"sum(rate(genesys_conversation_offered{job=~"$job", instance=~"$instance"}[5m]))
         + sum(genesys_exporter_polls_delayed_total{job=~"$job"})
         + sum(increase(genesys_exporter_token_renewals_total{job=~"$job", instance=~"$instance"}[5m]))
         + sum(genesys_conversation_offered{instance=~"$instance"})"#
    );
    panels[2]["targets"][0]["expr"] = json!("sum(genesys_conversation_offered{job=~\"$job\"");
    panels[3]["targets"][0]["expr"] =
        json!(r#"sum(genesys_conversation_offered{job=~"$job", queue_name=~"$queue"})"#);
    panels[4]["targets"][0]["expr"] = json!(
        r#"sum(genesys_conversation_transferred{job=~"$job", instance=~"$instance", interval="$interval"})"#
    );

    let problems = lint::lint(&broken, &rules).join("\n");
    let expected = [
        "dashboard: has `__inputs`",
        "dashboard: schemaVersion Some(16)",
        "dashboard: needs a fixed `uid`",
        "variables: `media_type` is missing",
        "variable instance: must be a multi-select",
        "needs a description",
        "unit \"bytes\" is not one of",
        "(2): must use the datasource `${datasource}`",
        "rate() over genesys_conversation_offered, which is not a counter",
        "rate() over genesys_conversation_offered must use [$__rate_interval]",
        "counter genesys_exporter_polls_delayed_total read raw",
        "selector genesys_exporter_polls_delayed_total is not filtered by instance",
        "increase() over genesys_exporter_token_renewals_total must use [$__rate_interval]",
        "selector genesys_conversation_offered is not filtered by job",
        "(3) query \"A\": unexpected end of input",
        "(4) query \"A\": unknown variable $queue",
        "dashboard: must be `editable: false`",
        "variable query: must be a single-select query variable",
        "(5) query \"A\": selector genesys_conversation_transferred is not filtered by query=\"$query\"",
        "(30) query \"A\": observation selector genesys_queue_waiting is not filtered by query=\"$observation\"",
        "(6) query \"A\": observation selector genesys_queue_interacting is not filtered by query=\"$observation\"",
    ];
    let missed: Vec<&&str> = expected
        .iter()
        .filter(|e| !problems.contains(**e))
        .collect();
    assert!(
        missed.is_empty(),
        "not reported: {missed:#?}\nreport:\n{problems}"
    );
}

#[test]
fn the_provisioning_files_load_the_dashboards_from_the_documented_paths() {
    let dir = grafana::grafana_dir().join("provisioning");
    let read = |path: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join(path)).expect("provisioning file");
        serde_yaml_ng::from_str(&text).expect("provisioning YAML")
    };
    let datasources = read("datasources/prometheus.yaml");
    assert_eq!(datasources["apiVersion"], 1);
    let sources = datasources["datasources"].as_array().expect("datasources");
    assert!(
        sources
            .iter()
            .any(|s| s["type"] == "prometheus" && s["url"].is_string()),
        "{sources:?}"
    );

    let dashboards = read("dashboards/genesys.yaml");
    assert_eq!(dashboards["apiVersion"], 1);
    let providers = dashboards["providers"].as_array().expect("providers");
    assert_eq!(providers.len(), 1, "{providers:?}");
    assert_eq!(providers[0]["type"], "file");
    let path = providers[0]["options"]["path"].as_str().expect("a path");
    // The deployment guide tells where to mount the dashboards: the same path.
    let guide =
        std::fs::read_to_string(grafana::grafana_dir().join("../docs/deployment.md")).unwrap();
    assert!(
        guide.contains(&format!("grafana/dashboards:{path}")),
        "docs/deployment.md does not say to mount grafana/dashboards at {path}"
    );
    assert!(guide.contains("grafana/provisioning:/etc/grafana/provisioning"));
}

/// Grafana's interval variables for a dashboard showing the last [`RANGE`] with points
/// [`SCRAPE_INTERVAL`] apart (the data source's minimum interval).
const RANGE: Duration = Duration::from_secs(6);

fn interval_variables() -> HashMap<String, String> {
    let interval = SCRAPE_INTERVAL;
    // Grafana's rule: max($__interval + scrape interval, 4 * scrape interval).
    let rate_interval = (interval + SCRAPE_INTERVAL).max(4 * SCRAPE_INTERVAL);
    [
        ("__interval", interval),
        ("__rate_interval", rate_interval),
        ("__range", RANGE),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), format!("{}s", value.as_secs())))
    .collect()
}

/// Waits until Prometheus has scraped enough to cover the dashboards' time range, so every
/// rate has samples.
async fn wait_for_the_dashboards_range(prometheus: &Prometheus) {
    let scrapes = RANGE.as_secs() / SCRAPE_INTERVAL.as_secs() + 1;
    prometheus
        .wait_for(
            &format!(
                "count_over_time(genesys_exporter_build_info{{job=\"{JOB}\"}}[1h]) >= {scrapes}"
            ),
            Duration::from_secs(90),
        )
        .await;
}

/// Runs dashboard queries against Prometheus as Grafana would, at one fixed time.
struct Grafana<'a> {
    prometheus: &'a Prometheus,
    /// Unix time of the end of the dashboard's time range.
    now: f64,
}

impl<'a> Grafana<'a> {
    /// Queries as Grafana would at this moment.
    fn at_now(prometheus: &'a Prometheus) -> Grafana<'a> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        Grafana { prometheus, now }
    }

    /// Resolves the variables in order, as Grafana does on load: `All` (the allValue)
    /// for a variable that has it, the first value otherwise. Each query variable must
    /// offer at least one value.
    async fn variables(&self, dashboard: &Value) -> Result<HashMap<String, String>, String> {
        let mut values = interval_variables();
        for variable in grafana::variables(dashboard) {
            let name = variable["name"].as_str().unwrap_or("");
            if variable["type"] != "query" {
                continue;
            }
            let query = grafana::variable_query(variable);
            let source = grafana::variable_source(variable)
                .ok_or_else(|| format!("variable {name}: cannot run {query:?}"))?;
            let found = self
                .variable_values(&source, &values)
                .await
                .map_err(|err| format!("variable {name}: {err}"))?;
            let first = found.first().map(String::as_str);
            let repeats_a_row = grafana::panels(dashboard)
                .iter()
                .any(|p| grafana::is_row(p) && p["repeat"] == name);
            let first = match first {
                Some(first) => first,
                // A row repeated over no value is not shown, nor are its panels.
                None if repeats_a_row => continue,
                None => return Err(format!("variable {name}: no values for {query:?}")),
            };
            let value = match variable["allValue"].as_str() {
                Some(all) if variable["includeAll"] == true => all.to_string(),
                _ => first.to_string(),
            };
            values.insert(name.to_string(), value);
        }
        Ok(values)
    }

    /// A variable's values, sorted as Grafana's alphabetical sort shows them: from the
    /// label values API for `label_values`, from the results of an instant query at
    /// [`Grafana::now`] (the end of the time range) for `query_result`.
    async fn variable_values(
        &self,
        source: &grafana::VariableSource,
        values: &HashMap<String, String>,
    ) -> Result<Vec<String>, String> {
        let mut found: Vec<String> = match source {
            grafana::VariableSource::LabelValues(label_values) => {
                let mut params = vec![
                    ("start", (self.now - RANGE.as_secs_f64()).to_string()),
                    ("end", self.now.to_string()),
                ];
                if let Some(selector) = &label_values.selector {
                    params.push(("match[]", grafana::substitute(selector, values)?));
                }
                let path = format!("label/{}/values", label_values.label);
                let data = self.prometheus.api(&path, &params).await?;
                data.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            }
            grafana::VariableSource::QueryResult { expr, label } => {
                let params = [
                    ("query", grafana::substitute(expr, values)?),
                    ("time", self.now.to_string()),
                ];
                let data = self.prometheus.api("query", &params).await?;
                data["result"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r["metric"][label.as_str()].as_str().map(str::to_string))
                    .collect()
            }
        };
        found.sort();
        found.dedup();
        Ok(found)
    }

    /// Runs one query (already substituted); the number of series it returns, or why
    /// it returned none.
    async fn run(&self, expr: &str, instant: bool) -> Result<usize, String> {
        let data = if instant {
            self.prometheus
                .api(
                    "query",
                    &[("query", expr.to_string()), ("time", self.now.to_string())],
                )
                .await?
        } else {
            self.prometheus
                .api(
                    "query_range",
                    &[
                        ("query", expr.to_string()),
                        ("start", (self.now - RANGE.as_secs_f64()).to_string()),
                        ("end", self.now.to_string()),
                        ("step", format!("{}s", SCRAPE_INTERVAL.as_secs())),
                    ],
                )
                .await?
        };
        match data["result"].as_array().map(Vec::len) {
            Some(0) | None => Err("no data".to_string()),
            Some(series) => Ok(series),
        }
    }

    /// The value of an instant query that returns one series.
    async fn value(&self, expr: &str) -> f64 {
        let data = self
            .prometheus
            .api(
                "query",
                &[("query", expr.to_string()), ("time", self.now.to_string())],
            )
            .await
            .unwrap_or_else(|err| panic!("{expr}: {err}"));
        let result = data["result"].as_array().cloned().unwrap_or_default();
        assert_eq!(result.len(), 1, "{expr}: {data}");
        result[0]["value"][1]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{expr}: {data}"))
    }

    /// Whether Prometheus holds any series of `metric` in the time range.
    async fn exists(&self, metric: &str) -> Result<(), String> {
        let found = self
            .prometheus
            .api(
                "series",
                &[
                    ("match[]", format!("{{__name__=\"{metric}\"}}")),
                    ("start", (self.now - RANGE.as_secs_f64()).to_string()),
                    ("end", self.now.to_string()),
                ],
            )
            .await?;
        match found.as_array() {
            Some(series) if !series.is_empty() => Ok(()),
            _ => Err(format!("metric {metric} is not exported")),
        }
    }

    /// Every failure of a dashboard: variables without values, queries that fail or
    /// return nothing, metric names Prometheus has never seen (a fallback such as
    /// `or ... * 0` would otherwise hide a misspelt name).
    async fn failures(&self, name: &str, dashboard: &Value) -> (Vec<String>, usize) {
        let values = match self.variables(dashboard).await {
            Ok(values) => values,
            Err(err) => return (vec![format!("{name}: {err}")], 0),
        };
        let mut failures = Vec::new();
        let mut metrics = BTreeSet::new();
        let queries = grafana::panel_queries(dashboard);
        let hidden: Vec<String> = grafana::variables(dashboard)
            .iter()
            .filter_map(|v| v["name"].as_str())
            .filter(|v| !values.contains_key(*v))
            .map(|v| format!("${v}"))
            .collect();
        let mut skipped = 0;
        for query in &queries {
            if hidden.iter().any(|v| query.expr.contains(v.as_str())) {
                skipped += 1;
                continue;
            }
            let place = format!("{name}: panel {:?} query {}", query.panel, query.ref_id);
            let expr = match grafana::substitute(query.expr, &values) {
                Ok(expr) => expr,
                Err(err) => {
                    failures.push(format!("{place}: {err}"));
                    continue;
                }
            };
            if let Ok(ast) = promql_parser::parser::parse(&expr) {
                lint::metric_names(&ast, &mut metrics);
            }
            if let Err(err) = self.run(&expr, query.instant).await {
                failures.push(format!("{place}: {err}\n{expr}"));
            }
        }
        for metric in metrics {
            if let Err(err) = self.exists(&metric).await {
                failures.push(format!("{name}: {err}"));
            }
        }
        (failures, queries.len() - skipped)
    }
}

/// The example config of the documentation: the built-in `queues` query, the optional
/// `agents` query that feeds the contact-center dashboard's Agents row, the `today`
/// query (`period: current`) of its Today so far row and the `live` observations of its
/// Now row.
const EXAMPLE_CONFIG: &str = "\
queries:
  - name: queues
    granularity: PT30M
    time_zone: UTC
    settle_delay: 90s
    refresh: 5m
    group_by: [queueId, mediaType, direction]
    metrics: [nOffered, nConnected, nTransferred, nOverSla, tHandle, tTalk, tHeld, tAcw,
              tAnswered, tWait, tAbandon, tShortAbandon, oServiceLevel]
  - name: agents
    granularity: PT30M
    time_zone: UTC
    settle_delay: 90s
    refresh: 5m
    group_by: [userId]
    metrics: [tHandle, tHeld, tAcw]
  - name: today
    granularity: P1D
    time_zone: UTC
    period: current
    refresh: 1m
    group_by: [queueId, mediaType]
    metrics: [nOffered, nConnected, nTransferred, nOverSla, tHandle, tTalk, tHeld, tAcw,
              tAnswered, tWait, tAbandon, tShortAbandon, oServiceLevel]
observations:
  - name: live
    metrics: [oWaiting, oInteracting, oAlerting, oOnQueueUsers, oOffQueueUsers,
              oMemberUsers, oActiveUsers, oUserRoutingStatuses, oUserPresences]
    detail_metrics: [oWaiting]
    queues: all
";

#[tokio::test(flavor = "multi_thread")]
async fn every_dashboard_query_returns_data_from_prometheus_scraping_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let run = ExporterRun::demo().config(dir.path(), EXAMPLE_CONFIG);
    let (exporter, prometheus) = scraping_the_demo_with(dir.path(), run).await;
    // Enough scrapes to cover the dashboards' time range, so every rate has samples.
    wait_for_the_dashboards_range(&prometheus).await;
    // And the first answers of the interval in progress and of the observations.
    for metric in [
        "genesys_conversation_offered{query=\"today\"}",
        "genesys_queue_observation_timestamp_seconds",
    ] {
        prometheus.wait_for(metric, Duration::from_secs(90)).await;
    }
    let grafana = Grafana::at_now(&prometheus);

    // Each row shows what it says: the last completed interval is never the partial bucket
    // of `today` (P1D, which sorts before PT30M), which has the Today so far row.
    let overview = grafana::load("contact-center.json");
    let values = grafana
        .variables(&overview)
        .await
        .expect("variables resolve");
    assert_eq!(
        (
            values.get("interval").map(String::as_str),
            values.get("query").map(String::as_str),
            values.get("today_query").map(String::as_str),
            values.get("observation").map(String::as_str)
        ),
        (Some("PT30M"), Some("queues"), Some("today"), Some("live")),
        "{values:?}"
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for name in grafana::CONVERSATION_DASHBOARDS {
        let (found, queries) = grafana.failures(name, &grafana::load(name)).await;
        failures.extend(found);
        checked += queries;
    }
    assert!(
        failures.is_empty(),
        "{failures:#?}\nexporter logs:\n{}",
        exporter.logs()
    );
    assert!(checked >= 60, "only {checked} queries checked");

    // The same checks catch a broken expression, a metric the exporter does not export,
    // and a panel of events that have not happened showing "no data" instead of 0.
    let selector = r#"{job=~".+", instance=~".+"}"#;
    for broken in [
        format!("sum by (queue_name (genesys_conversation_offered{selector})"),
        format!("sum(genesys_conversation_offerred{selector})"),
        r#"sum(increase(genesys_exporter_api_requests_total{code="429", job=~".+"}[4s]))"#
            .to_string(),
    ] {
        assert!(grafana.run(&broken, true).await.is_err(), "{broken}");
    }
    assert!(
        grafana
            .exists("genesys_exporter_api_requestz_total")
            .await
            .is_err()
    );
}

/// The demo's built-in config runs a query of every source and the agents observation
/// set: every panel of every dashboard answers with data from it, none hidden but the
/// contact-center Agents row (fed by a conversation query by userId, which the built-in
/// config does not have and the example config's test covers).
#[tokio::test(flavor = "multi_thread")]
async fn every_domain_panel_returns_data_from_the_demo_built_in_config() {
    let dir = tempfile::tempdir().unwrap();
    let (exporter, prometheus) = scraping_the_demo_with(dir.path(), ExporterRun::demo()).await;
    wait_for_the_dashboards_range(&prometheus).await;
    let grafana = Grafana::at_now(&prometheus);
    let mut failures = Vec::new();
    for name in grafana::DASHBOARDS {
        let dashboard = grafana::load(name);
        let (found, checked) = grafana.failures(name, &dashboard).await;
        failures.extend(found);
        let hidden_rows = if name == "contact-center.json" {
            grafana::panels_under_row(&dashboard, "Agents (")
                .iter()
                .map(|p| p["targets"].as_array().map_or(0, Vec::len))
                .sum()
        } else {
            0
        };
        let queries = grafana::panel_queries(&dashboard).len();
        if checked + hidden_rows != queries {
            failures.push(format!(
                "{name}: {} of {queries} queries hidden: a row's source has no series",
                queries - checked
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{failures:#?}\nexporter logs:\n{}",
        exporter.logs()
    );
}

/// Each dashboard links to every other one by its uid, keeping the time range and
/// carrying the exporter selection along.
#[test]
fn the_dashboards_link_to_each_other() {
    for name in grafana::DASHBOARDS {
        let dashboard = grafana::load(name);
        let links = dashboard["links"].as_array().cloned().unwrap_or_default();
        for other in grafana::DASHBOARDS.iter().filter(|other| **other != name) {
            let uid = grafana::load(other)["uid"]
                .as_str()
                .expect("uid")
                .to_string();
            let link = links
                .iter()
                .find(|link| {
                    link["url"]
                        .as_str()
                        .is_some_and(|url| url.starts_with(&format!("/d/{uid}/")))
                })
                .unwrap_or_else(|| panic!("{name} has no link to {other} (/d/{uid}/)"));
            assert_eq!(link["keepTime"], true, "{name} -> {other}");
            let url = link["url"].as_str().unwrap_or_default();
            for variable in ["job", "instance"] {
                assert!(
                    url.contains(&format!("${{{variable}:queryparam}}")),
                    "{name} -> {other} drops {variable}: {url}"
                );
            }
        }
    }
}

/// Two queries of one granularity (one by queue, one by queue and direction) describe
/// the same conversations: the overview shows one of them, the first by default, so its Offered
/// stat is that query's total, never the two added up.
#[tokio::test(flavor = "multi_thread")]
async fn two_queries_of_one_granularity_never_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = common::ExporterRun::demo()
        .config(
            dir.path(),
            "queries:
  - name: by_queue
    granularity: PT30M
    group_by: [queueId, mediaType]
    metrics: [nOffered]
  - name: by_queue_and_direction
    granularity: PT30M
    group_by: [queueId, mediaType, direction]
    metrics: [nOffered]
",
        )
        .start();
    exporter.wait_ready().await;
    let target = exporter.base_url.trim_start_matches("http://").to_string();
    let prometheus = Prometheus::start(dir.path(), &target);
    prometheus
        .wait_for(
            &format!(
                "count(count by (query) (genesys_conversation_offered{{job=\"{JOB}\"}})) == 2"
            ),
            Duration::from_secs(60),
        )
        .await;
    let grafana = Grafana::at_now(&prometheus);
    let overview = grafana::load("contact-center.json");
    let values = grafana
        .variables(&overview)
        .await
        .expect("variables resolve");
    // Label values come sorted: the first query is by_queue.
    assert_eq!(values["query"], "by_queue");
    let offered = grafana::panel_queries(&overview)
        .into_iter()
        .find(|query| query.panel == "Offered")
        .expect("an Offered stat");
    let expr = grafana::substitute(offered.expr, &values).expect("substituted");
    let shown = grafana.value(&expr).await;
    let interval = &values["interval"];
    let total = |query: &str| {
        format!(
            "sum(genesys_conversation_offered{{job=\"{JOB}\", interval=\"{interval}\", query=~\"{query}\"}})"
        )
    };
    let by_queue = grafana.value(&total("by_queue")).await;
    let by_direction = grafana.value(&total("by_queue_and_direction")).await;
    let both = grafana
        .value(&total("by_queue|by_queue_and_direction"))
        .await;
    assert!(by_queue > 0.0, "no conversations offered");
    // The same conversations, grouped two ways: added up, each counts twice.
    assert_eq!(by_direction, by_queue);
    assert_eq!(both, 2.0 * by_queue);
    assert_eq!(shown, by_queue, "{expr}");
}

/// History on day one: a backfill of the built-in query (the demo's), loaded with
/// promtool into a Prometheus that scrapes nothing, answers every query of the
/// contact-center dashboard at a past instant.
#[tokio::test(flavor = "multi_thread")]
async fn the_contact_center_dashboard_answers_from_backfilled_data_alone() {
    use chrono::{DurationRound, TimeDelta, Utc};

    let sim = common::simulator(Default::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let to = (Utc::now() - TimeDelta::hours(1))
        .duration_trunc(TimeDelta::minutes(30))
        .unwrap();
    let from = to - TimeDelta::hours(6);
    let output = dir.path().join("history.om");
    let (status, logs) = common::ExporterRun::against(&sim)
        .subcommand(&[
            "backfill",
            "--from",
            &from.to_rfc3339(),
            "--to",
            &to.to_rfc3339(),
            "--sample-interval",
            "5m",
            "--label.job",
            JOB,
            "--output",
            &output.to_string_lossy(),
        ])
        .run_to_exit();
    assert!(status.success(), "{logs}");
    let prometheus = Prometheus::on_backfill(dir.path(), &output);
    // Ten minutes after the last bucket's values arrived (90 s after its end), just
    // past a sample, so the dashboard's few seconds of range hold one.
    let now = (to + TimeDelta::seconds(90 + 600 + 3)).timestamp() as f64;
    prometheus
        .wait_for_at("genesys_exporter_build_info", now, Duration::from_secs(60))
        .await;
    let grafana = Grafana {
        prometheus: &prometheus,
        now,
    };
    let (failures, queries) = grafana
        .failures("contact-center.json", &grafana::load("contact-center.json"))
        .await;
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(queries >= 20, "only {queries} queries checked");
}
