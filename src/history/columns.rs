//! The columns of a report: every column a CSV or JSON Lines report holds, which of them
//! a table shows by default (what a floor supervisor reads), how each is shown, and the
//! columns `--columns` picks.
//!
//! Every column, in order: `query` (several queries only), `interval_start`,
//! `interval_end`, one per `group_by` label as exported, one per series the live
//! exporter exports (named without the `genesys_conversation_` prefix), then
//! `<base>_seconds_avg` for each timer. A series with a `qualifier` label gets a column of
//! its own, named with the qualifier in snake case right after the metric's base name
//! (`service_target_voice_target`, `handle_voice_seconds_sum`); as qualifiers are known
//! only from the answers, those columns are added as they first appear.
//!
//! A report over queries of more than one source names the series columns of every
//! source but conversations after its domain (`flow_count`, `evaluation_total_score_sum`):
//! the naming rule strips the domain from the series, so without it `count` would hold
//! nConversations, nFlow and nEvaluations at once. A report of one source keeps the
//! names without it.
//!
//! A voice quality set's columns are its group labels and its series named after the
//! family without `genesys_` (`voice_mos_count`, `voice_packets_lost`), a histogram
//! bucket's with its bound (`voice_mos_bucket_le_2_5`, `voice_mos_bucket_le_inf`), and
//! `voice_mos_avg`.

use crate::config::{QueryConfig, VoiceSetConfig};
use crate::conventions::snake_case;
use crate::genesys::names;
use crate::genesys::sources::{CONVERSATIONS, Source};
use crate::mapping::voice::{MOS_BUCKETS, voice_label_names};
use crate::mapping::{group_label_names, series_base};

/// How a column's values are shown in a table (CSV and JSON write plain numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Labels and times: as they are.
    Text,
    /// A count: a whole number.
    Count,
    /// Seconds (timer sums, extremes, percentiles, averages): `mm:ss`, `h:mm:ss` from an hour.
    Seconds,
    /// A ratio from 0 to 1 (service level, its target): a percentage.
    Percent,
    /// Anything else: whole numbers without a fraction, others to 3 places.
    Number,
}

/// One column: its name, how a table shows it, whether a table shows it by default.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub kind: Kind,
    pub supervisor: bool,
}

impl Column {
    fn new(name: impl Into<String>, kind: Kind, supervisor: bool) -> Column {
        Column {
            name: name.into(),
            kind,
            supervisor,
        }
    }
}

/// A series column: its column and its name cut after the metric's base name (`handle`,
/// `_seconds_sum`), where a qualifier goes.
#[derive(Clone, Debug, PartialEq)]
struct SeriesColumn {
    column: Column,
    base: String,
    rest: String,
}

/// The columns of a report over some queries; grows as qualified series appear.
#[derive(Clone, Debug, PartialEq)]
pub struct Columns {
    /// Whether a `query` column leads (several queries).
    with_query: bool,
    /// Whether the queries span several sources: then the series columns of every
    /// source but conversations start with its domain.
    by_source: bool,
    /// Group labels, in order of first appearance over the queries.
    labels: Vec<Column>,
    series: Vec<SeriesColumn>,
    /// `<base>_seconds_avg` columns: the column and the positions of its sum and count
    /// in `series`.
    averages: Vec<(Column, usize, usize)>,
}

impl Columns {
    pub fn of(queries: &[&QueryConfig]) -> Columns {
        let by_source = queries
            .iter()
            .any(|q| q.source.segment != queries[0].source.segment);
        let mut columns = Columns {
            with_query: queries.len() > 1,
            by_source,
            labels: Vec::new(),
            series: Vec::new(),
            averages: Vec::new(),
        };
        for query in queries {
            // A dimension with a name shows its name, not its id.
            let named: Vec<String> = query
                .group_by
                .iter()
                .filter_map(|d| names::dimension(d).map(|_| snake_case(d)))
                .collect();
            for label in group_label_names(query) {
                if !columns.labels.iter().any(|c| c.name == label) {
                    let supervisor = !named.contains(&label);
                    columns
                        .labels
                        .push(Column::new(label, Kind::Text, supervisor));
                }
            }
            for metric in &query.metrics {
                let (family, base) = series_base(query.source, metric);
                let base = format!("{}{base}", columns.source_prefix(query.source));
                for (rest, kind, supervisor) in series_of(family, metric, query.source.timer_stats)
                {
                    columns.add_series(&base, &rest, kind, supervisor);
                }
            }
        }
        columns
    }

    /// Adds the columns of the voice quality sets `sets` (after the queries'): a
    /// `query` column once the report holds more than one entry.
    pub fn with_voice(mut self, sets: &[&VoiceSetConfig], queries: usize) -> Columns {
        if sets.is_empty() {
            return self;
        }
        self.with_query = queries + sets.len() > 1;
        for set in sets {
            for label in voice_label_names(set) {
                if !self.labels.iter().any(|c| c.name == label) {
                    let supervisor = label != "queue_id";
                    self.labels.push(Column::new(label, Kind::Text, supervisor));
                }
            }
        }
        let series = [
            ("voice_mos_count", Kind::Count, true),
            ("voice_conversations_below_mos_threshold", Kind::Count, true),
            ("voice_packets_received", Kind::Count, true),
            ("voice_packets_lost", Kind::Count, true),
            ("voice_max_latency_seconds", Kind::Number, true),
            ("voice_mos_sum", Kind::Number, false),
        ];
        for (name, kind, supervisor) in series {
            self.add_series(name, "", kind, supervisor);
        }
        let bounds = MOS_BUCKETS.iter().map(|b| format!("{b}"));
        for le in bounds.chain(["+Inf".to_string()]) {
            self.add_series(&voice_bucket_column(&le), "", Kind::Count, false);
        }
        if let (Some(sum), Some(count)) = (
            self.series_named("voice_mos_sum"),
            self.series_named("voice_mos_count"),
        ) {
            let column = Column::new("voice_mos_avg", Kind::Number, true);
            self.averages.push((column, sum, count));
        }
        self
    }

    /// The position in `series` of the column `name`.
    pub fn series_named(&self, name: &str) -> Option<usize> {
        self.series.iter().position(|s| s.column.name == name)
    }

    /// What the series columns of `source` start with: its domain when the report spans
    /// several sources and it is not conversations, else nothing.
    fn source_prefix(&self, source: &Source) -> String {
        if self.by_source && source.segment != CONVERSATIONS.segment {
            format!("{}_", source.domain)
        } else {
            String::new()
        }
    }

    /// Adds the series column `<base><rest>` unless it is there, and the average of a
    /// timer once both its sum and its count are; returns its position in `series`.
    fn add_series(&mut self, base: &str, rest: &str, kind: Kind, supervisor: bool) -> usize {
        let name = format!("{base}{rest}");
        if let Some(position) = self.series.iter().position(|s| s.column.name == name) {
            return position;
        }
        self.series.push(SeriesColumn {
            column: Column::new(name, kind, supervisor),
            base: base.to_string(),
            rest: rest.to_string(),
        });
        let timer = |stat: &str| {
            self.series
                .iter()
                .position(|s| s.base == base && s.rest == format!("_seconds_{stat}"))
        };
        if let (Some(sum), Some(count)) = (timer("sum"), timer("count")) {
            let average = format!("{base}_seconds_avg");
            if !self.averages.iter().any(|(c, _, _)| c.name == average) {
                let column = Column::new(average, Kind::Seconds, true);
                self.averages.push((column, sum, count));
            }
        }
        self.series.len() - 1
    }

    /// The position in `series` of the series of `source` named `suffix` (the family
    /// name without the source's prefix), with `qualifier` if any; a qualified series not
    /// seen before is added.
    pub fn series_position(
        &mut self,
        source: &Source,
        suffix: &str,
        qualifier: Option<&str>,
    ) -> Option<usize> {
        let name = format!("{}{suffix}", self.source_prefix(source));
        let plain = self.series.iter().position(|s| s.column.name == name)?;
        let Some(qualifier) = qualifier else {
            return Some(plain);
        };
        let SeriesColumn { column, base, rest } = self.series[plain].clone();
        let base = format!("{base}_{}", qualifier_name(qualifier));
        Some(self.add_series(&base, &rest, column.kind, column.supervisor))
    }

    /// Every column, in order.
    pub fn all(&self) -> Vec<Column> {
        let mut all = Vec::new();
        if self.with_query {
            all.push(Column::new("query", Kind::Text, true));
        }
        all.push(Column::new("interval_start", Kind::Text, true));
        all.push(Column::new("interval_end", Kind::Text, false));
        all.extend(self.labels.iter().cloned());
        all.extend(self.series.iter().map(|s| s.column.clone()));
        all.extend(self.averages.iter().map(|(c, _, _)| c.clone()));
        all
    }

    /// The header names, in order.
    pub fn names(&self) -> Vec<String> {
        self.all().into_iter().map(|c| c.name).collect()
    }

    pub fn with_query(&self) -> bool {
        self.with_query
    }

    /// The position of a group label among the label columns.
    pub fn label_position(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|c| c.name == label)
    }

    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// The positions in `series` of each average's sum and count.
    pub fn averages(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.averages.iter().map(|&(_, sum, count)| (sum, count))
    }
}

/// The column of the MOS histogram's bucket `le` (`1`, `2.5`, `+Inf`).
pub fn voice_bucket_column(le: &str) -> String {
    format!(
        "voice_mos_bucket_le_{}",
        qualifier_name(le).trim_start_matches('_')
    )
}

/// The series columns of one metric after its base name: how a table shows each, and
/// whether a table shows it by default. A timer has the stats its source answers
/// (`timer_stats`); one without a count (users' status times) shows its sum, as it has
/// no average.
fn series_of(family: char, metric: &str, timer_stats: &[&str]) -> Vec<(String, Kind, bool)> {
    match family {
        'n' => vec![(String::new(), Kind::Count, true)],
        't' => timer_stats
            .iter()
            .map(|stat| {
                let kind = if *stat == "count" {
                    Kind::Count
                } else {
                    Kind::Seconds
                };
                let shown = *stat == "sum" && !timer_stats.contains(&"count");
                (format!("_seconds_{stat}"), kind, shown)
            })
            .collect(),
        // Observation metrics (`o…`): whatever stats the API sends; the service levels'
        // four, a target's one, else the usual four.
        _ => {
            let stats: &[(&str, Kind, bool)] = match metric {
                "oServiceLevel" | "oCallbackServiceLevel" => &[
                    ("ratio", Kind::Percent, true),
                    ("numerator", Kind::Count, false),
                    ("denominator", Kind::Count, false),
                    ("target", Kind::Percent, false),
                ],
                "oServiceTarget" => &[("target", Kind::Percent, true)],
                _ => &[
                    ("count", Kind::Count, true),
                    ("sum", Kind::Number, false),
                    ("max", Kind::Number, false),
                    ("min", Kind::Number, false),
                ],
            };
            stats
                .iter()
                .map(|&(stat, kind, supervisor)| (format!("_{stat}"), kind, supervisor))
                .collect()
        }
    }
}

/// A qualifier as a part of a column name: snake case, anything but letters and digits
/// an underscore (`ON_QUEUE` -> `on_queue`, `voice` -> `voice`, a presence id's dashes
/// -> underscores).
pub fn qualifier_name(qualifier: &str) -> String {
    snake_case(qualifier)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// Which columns a report shows (`--columns`).
#[derive(Clone, Debug, PartialEq)]
pub enum Selection {
    /// Every column for CSV and JSON Lines, the supervisor's for a table.
    Default,
    /// Every column, qualified ones included as they appear (`--columns all`).
    All,
    /// These columns, in this order.
    Picked(Vec<String>),
}

impl Selection {
    /// Reads `--columns` (comma-separated names or `all`) against the columns of the
    /// report; an unknown name is refused with the list of the valid ones.
    pub fn parse(text: Option<&str>, columns: &Columns) -> Result<Selection, String> {
        let Some(text) = text else {
            return Ok(Selection::Default);
        };
        let picked: Vec<String> = text
            .split(',')
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect();
        if picked.len() == 1 && picked[0] == "all" {
            return Ok(Selection::All);
        }
        let names = columns.names();
        let unknown: Vec<String> = picked
            .iter()
            .filter(|name| !names.contains(name))
            .map(|name| format!("{name:?}"))
            .collect();
        if !unknown.is_empty() || picked.is_empty() {
            return Err(format!(
                "--columns: no such column {}; the columns of this report are all, {}",
                if unknown.is_empty() {
                    "(none given)".to_string()
                } else {
                    unknown.join(", ")
                },
                names.join(", ")
            ));
        }
        Ok(Selection::Picked(picked))
    }

    /// The names shown out of `all`, in order: `table` says whether it is a table. A
    /// table by default shows the supervisor's columns, grouped by [`Kind`].
    pub fn shown(&self, all: &[Column], table: bool) -> Vec<String> {
        match self {
            Selection::Default if table => {
                // Labels, then counts, then averages, then service levels: as a
                // supervisor reads them, whatever the order of the metrics.
                let mut shown: Vec<&Column> = all.iter().filter(|c| c.supervisor).collect();
                shown.sort_by_key(|c| c.kind as u8);
                shown.into_iter().map(|c| c.name.clone()).collect()
            }
            Selection::Default | Selection::All => all.iter().map(|c| c.name.clone()).collect(),
            Selection::Picked(names) => names.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualifiers_are_snake_case_after_the_base_name() {
        assert_eq!(qualifier_name("ON_QUEUE"), "on_queue");
        assert_eq!(qualifier_name("onQueue"), "on_queue");
        assert_eq!(qualifier_name("e08e-1f2"), "e08e_1f2");
        let query = QueryConfig {
            metrics: vec!["tHandle".into(), "oServiceTarget".into()],
            ..crate::config::Config::builtin_default().queries[0].clone()
        };
        let mut columns = Columns::of(&[&query]);
        let voice = columns.series_position(query.source, "service_target_target", Some("voice"));
        assert_eq!(
            voice,
            columns.series_position(query.source, "service_target_target", Some("voice"))
        );
        columns.series_position(query.source, "handle_seconds_sum", Some("ON_QUEUE"));
        columns.series_position(query.source, "handle_seconds_count", Some("ON_QUEUE"));
        let names = columns.names();
        assert!(
            names.contains(&"service_target_voice_target".to_string()),
            "{names:?}"
        );
        assert!(
            names.contains(&"handle_on_queue_seconds_sum".to_string()),
            "{names:?}"
        );
        assert_eq!(names.last().unwrap(), "handle_on_queue_seconds_avg");
        assert_eq!(
            columns.series_position(query.source, "nothing", Some("voice")),
            None
        );
    }

    /// A users query's columns are named as its series are, have only the sums its
    /// timers come with, and a table shows those sums by default (no average exists).
    #[test]
    fn a_users_querys_columns_are_its_series_with_sums_only() {
        let config = crate::config::Config::demo();
        let users = config.queries.iter().find(|q| q.source.segment == "users");
        let query = users.expect("the demo has a users query");
        let columns = Columns::of(&[query]);
        let names = columns.names();
        assert!(
            names.contains(&"agent_routing_status_seconds_sum".to_string()),
            "{names:?}"
        );
        assert!(
            !names.iter().any(|n| n.ends_with("_seconds_count")),
            "{names:?}"
        );
        let shown = Selection::Default.shown(&columns.all(), true);
        assert!(
            shown.contains(&"system_presence_seconds_sum".to_string()),
            "{shown:?}"
        );
    }

    #[test]
    fn unknown_columns_are_named_with_the_valid_ones() {
        let query = crate::config::Config::builtin_default().queries[0].clone();
        let columns = Columns::of(&[&query]);
        assert_eq!(Selection::parse(None, &columns), Ok(Selection::Default));
        assert_eq!(Selection::parse(Some("all"), &columns), Ok(Selection::All));
        assert_eq!(
            Selection::parse(Some("queue_name, offered"), &columns),
            Ok(Selection::Picked(vec![
                "queue_name".into(),
                "offered".into()
            ]))
        );
        let err = Selection::parse(Some("offered,nope"), &columns).unwrap_err();
        assert!(
            err.starts_with("--columns: no such column \"nope\";"),
            "{err}"
        );
        assert!(
            err.contains("all, interval_start, interval_end, queue_id"),
            "{err}"
        );
        assert!(Selection::parse(Some(","), &columns).is_err());
    }
}
