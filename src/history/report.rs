//! The interval report: one row per bucket and group, written as an aligned table, CSV
//! (RFC 4180) or JSON Lines, one bucket at a time.
//!
//! Columns, in order: `interval_start`, `interval_end` (RFC 3339 UTC), one per
//! `group_by` label as exported, one per series the live exporter exports for the
//! query (named without the `genesys_conversation_` prefix), then `<base>_seconds_avg`
//! for each timer (sum / count, empty when the count is 0). A `query` column comes
//! first when several queries are reported. Values are those of `/metrics`, zero-fill
//! included; a series the exporter would not have exported (a timer's `max` in a
//! bucket without measurements) is an empty cell.

use std::collections::BTreeMap;
use std::io::Write;

use clap::ValueEnum;

use crate::config::QueryConfig;
use crate::interval::Interval;
use crate::mapping::{PREFIX, TIMER_STATS, group_label_names, split_metric};
use crate::series::QuerySeries;

use super::fetch::BucketSink;

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, averages as mm:ss (the default on a terminal).
    Table,
    /// RFC 4180: a header row, CRLF line ends, fields quoted when needed (the default otherwise).
    Csv,
    /// JSON Lines: one object per row.
    Json,
}

/// Stats the report shows for an observation metric (`o…`), whose stats are whatever
/// the API sends: the service levels' four, a target's one, else the usual four.
fn observation_stats(metric: &str) -> &'static [&'static str] {
    match metric {
        "oServiceLevel" | "oCallbackServiceLevel" => {
            &["ratio", "numerator", "denominator", "target"]
        }
        "oServiceTarget" => &["target"],
        _ => &["count", "sum", "max", "min"],
    }
}

/// The columns of a report over some queries.
#[derive(Debug, PartialEq)]
pub struct Columns {
    /// Whether a `query` column leads (several queries).
    with_query: bool,
    /// Group labels, in order of first appearance over the queries.
    labels: Vec<String>,
    /// Series names without the prefix.
    series: Vec<String>,
    /// `<base>_seconds_avg` columns: name and the positions of its sum and count in `series`.
    averages: Vec<(String, usize, usize)>,
}

impl Columns {
    pub fn of(queries: &[&QueryConfig]) -> Columns {
        let mut labels: Vec<String> = Vec::new();
        let mut series: Vec<String> = Vec::new();
        let mut timers: Vec<String> = Vec::new();
        let add = |list: &mut Vec<String>, name: String| {
            if !list.contains(&name) {
                list.push(name);
            }
        };
        for query in queries {
            for label in group_label_names(query) {
                add(&mut labels, label);
            }
            for metric in &query.metrics {
                let (family, base) = split_metric(metric);
                match family {
                    'n' => add(&mut series, base),
                    't' => {
                        for stat in TIMER_STATS {
                            add(&mut series, format!("{base}_seconds_{stat}"));
                        }
                        add(&mut timers, base);
                    }
                    _ => {
                        for stat in observation_stats(metric) {
                            add(&mut series, format!("{base}_{stat}"));
                        }
                    }
                }
            }
        }
        let position = |name: String| series.iter().position(|s| *s == name).unwrap_or(0);
        let averages = timers
            .iter()
            .map(|base| {
                (
                    format!("{base}_seconds_avg"),
                    position(format!("{base}_seconds_sum")),
                    position(format!("{base}_seconds_count")),
                )
            })
            .collect();
        Columns {
            with_query: queries.len() > 1,
            labels,
            series,
            averages,
        }
    }

    /// The header names, in order.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.with_query {
            names.push("query".to_string());
        }
        names.extend(["interval_start".to_string(), "interval_end".to_string()]);
        names.extend(self.labels.iter().cloned());
        names.extend(self.series.iter().cloned());
        names.extend(self.averages.iter().map(|(name, _, _)| name.clone()));
        names
    }
}

/// One cell: text, a number, or nothing.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Text(String),
    Number(f64),
    /// An average in seconds (a table shows it as mm:ss).
    Seconds(f64),
    Empty,
}

/// Writes report rows to `out` as they come, bucket by bucket.
pub struct ReportWriter<W: Write> {
    out: W,
    format: Format,
    columns: Columns,
    names: Vec<String>,
    /// Column widths of the table, fixed by the header and the first bucket.
    widths: Option<Vec<usize>>,
    rows: u64,
}

impl<W: Write> ReportWriter<W> {
    pub fn new(out: W, format: Format, columns: Columns) -> ReportWriter<W> {
        let names = columns.names();
        ReportWriter {
            out,
            format,
            columns,
            names,
            widths: None,
            rows: 0,
        }
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Ends the report: the header alone when there was no row (CSV, table); returns
    /// the writer.
    pub fn finish(mut self) -> std::io::Result<W> {
        if self.widths.is_none() && self.format != Format::Json {
            self.header(&[])?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// The rows of one bucket of `query`, sorted by their group labels.
    fn rows_of(
        &self,
        query: &QueryConfig,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> Vec<Vec<Cell>> {
        let labels = group_label_names(query);
        let label_columns: Vec<usize> = labels
            .iter()
            .map(|label| {
                self.columns
                    .labels
                    .iter()
                    .position(|l| l == label)
                    .unwrap_or(0)
            })
            .collect();
        let mut groups: BTreeMap<Vec<String>, Vec<Option<f64>>> = BTreeMap::new();
        for family in &series.families {
            let Some(column) = family
                .name
                .strip_prefix(PREFIX)
                .and_then(|suffix| self.columns.series.iter().position(|s| s == suffix))
            else {
                continue;
            };
            for sample in &family.samples {
                // `query`, `interval`, the group labels; a `qualifier` makes a series
                // the report has no column for.
                let values = sample.labels.values();
                if values.len() != labels.len() + 2 {
                    continue;
                }
                let values = groups
                    .entry(values[2..].to_vec())
                    .or_insert_with(|| vec![None; self.columns.series.len()]);
                values[column] = Some(sample.value);
            }
        }
        let time = |t: chrono::DateTime<chrono::Utc>| {
            Cell::Text(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        groups
            .into_iter()
            .map(|(key, values)| {
                let mut row = Vec::with_capacity(self.names.len());
                if self.columns.with_query {
                    row.push(Cell::Text(query.name.clone()));
                }
                row.push(time(bucket.start));
                row.push(time(bucket.end));
                let mut label_cells = vec![Cell::Empty; self.columns.labels.len()];
                for (value, column) in key.into_iter().zip(&label_columns) {
                    label_cells[*column] = Cell::Text(value);
                }
                row.extend(label_cells);
                row.extend(values.iter().map(|v| v.map_or(Cell::Empty, Cell::Number)));
                for (_, sum, count) in &self.columns.averages {
                    row.push(match (values[*sum], values[*count]) {
                        (Some(sum), Some(count)) if count > 0.0 => Cell::Seconds(sum / count),
                        _ => Cell::Empty,
                    });
                }
                row
            })
            .collect()
    }

    fn header(&mut self, rows: &[Vec<Cell>]) -> std::io::Result<()> {
        match self.format {
            Format::Csv => {
                let line: Vec<String> = self.names.iter().map(|n| csv_field(n)).collect();
                write!(self.out, "{}\r\n", line.join(","))?;
                self.widths = Some(Vec::new());
            }
            Format::Table => {
                let mut widths: Vec<usize> = self.names.iter().map(String::len).collect();
                for row in rows {
                    for (width, cell) in widths.iter_mut().zip(row) {
                        *width = (*width).max(table_text(cell).chars().count());
                    }
                }
                let line: Vec<String> = self
                    .names
                    .iter()
                    .zip(&widths)
                    .map(|(name, width)| format!("{name:<width$}"))
                    .collect();
                writeln!(self.out, "{}", line.join("  ").trim_end())?;
                self.widths = Some(widths);
            }
            Format::Json => self.widths = Some(Vec::new()),
        }
        Ok(())
    }

    fn row(&mut self, row: &[Cell]) -> std::io::Result<()> {
        match self.format {
            Format::Csv => {
                let fields: Vec<String> = row
                    .iter()
                    .map(|cell| match cell {
                        Cell::Text(text) => csv_field(text),
                        Cell::Number(n) | Cell::Seconds(n) => number(*n),
                        Cell::Empty => String::new(),
                    })
                    .collect();
                write!(self.out, "{}\r\n", fields.join(","))
            }
            Format::Json => {
                let mut line = String::from("{");
                for (index, (name, cell)) in self.names.iter().zip(row).enumerate() {
                    if index > 0 {
                        line.push(',');
                    }
                    line.push_str(&json_string(name));
                    line.push(':');
                    match cell {
                        Cell::Text(text) => line.push_str(&json_string(text)),
                        Cell::Number(n) | Cell::Seconds(n) if n.is_finite() => {
                            line.push_str(&number(*n))
                        }
                        _ => line.push_str("null"),
                    }
                }
                line.push('}');
                writeln!(self.out, "{line}")
            }
            Format::Table => {
                let widths = self.widths.clone().unwrap_or_default();
                let cells: Vec<String> = row
                    .iter()
                    .zip(widths.iter().chain(std::iter::repeat(&0)))
                    .map(|(cell, width)| match cell {
                        Cell::Text(_) | Cell::Empty => format!("{:<width$}", table_text(cell)),
                        _ => format!("{:>width$}", table_text(cell)),
                    })
                    .collect();
                writeln!(self.out, "{}", cells.join("  ").trim_end())
            }
        }
    }
}

impl<W: Write> BucketSink for ReportWriter<W> {
    fn bucket(
        &mut self,
        query: &QueryConfig,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> std::io::Result<()> {
        let rows = self.rows_of(query, bucket, series);
        if self.widths.is_none() {
            self.header(&rows)?;
        }
        for row in &rows {
            self.row(row)?;
        }
        self.rows += rows.len() as u64;
        Ok(())
    }
}

/// A number as CSV and JSON write it: the shortest text that reads back the same.
fn number(value: f64) -> String {
    if value.is_finite() {
        format!("{value}")
    } else {
        String::new()
    }
}

/// How a table shows a cell: whole numbers without a fraction, others to 3 places,
/// averages as mm:ss (h:mm:ss from an hour).
fn table_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Empty => String::new(),
        Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
        Cell::Number(n) => format!("{n:.3}"),
        Cell::Seconds(seconds) => {
            let total = seconds.round().max(0.0) as u64;
            let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
            if hours > 0 {
                format!("{hours}:{minutes:02}:{seconds:02}")
            } else {
                format!("{minutes:02}:{seconds:02}")
            }
        }
    }
}

/// A CSV field, quoted (with quotes doubled) when it holds a comma, quote or line end.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::bodies::AggregateResponse;
    use crate::genesys::names::Names;
    use crate::interval::Granularity;
    use crate::mapping::{GroupMemory, map_response};
    use std::collections::HashMap;
    use std::time::Duration;

    fn query() -> QueryConfig {
        QueryConfig {
            name: "queues".into(),
            granularity: Granularity::Minutes(60),
            time_zone: chrono_tz::UTC,
            settle_delay: Duration::from_secs(90),
            refresh: None,
            group_by: vec!["queueId".into(), "mediaType".into()],
            metrics: vec!["nOffered".into(), "tHandle".into(), "oServiceLevel".into()],
            filter: None,
            period: Default::default(),
            max_predicates_per_request: crate::config::filter::DEFAULT_MAX_PREDICATES,
            allow_unlisted: Vec::new(),
        }
    }

    fn report(format: Format) -> String {
        let query = query();
        let bucket: Interval = "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z".parse().unwrap();
        let response: AggregateResponse = serde_json::from_value(serde_json::json!({"results": [
            {"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
                {"interval": "2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z", "metrics": [
                    {"metric": "nOffered", "stats": {"count": 4}},
                    {"metric": "tHandle", "stats": {"count": 2, "sum": 150000, "max": 100000, "min": 50000}},
                    {"metric": "oServiceLevel", "stats": {"ratio": 0.5, "numerator": 1, "denominator": 2, "target": 0.8}}]}]},
            {"group": {"queueId": "q2", "mediaType": "chat"}, "data": [
                {"interval": "2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z", "metrics": [
                    {"metric": "nOffered", "stats": {"count": 1}}]}]}]}))
        .unwrap();
        let names = Names::from_tables([(
            "queueId",
            HashMap::from([("q1".to_string(), "Billing, \"East\"".to_string())]),
        )]);
        let mapped = map_response(
            &query,
            &bucket,
            &response,
            &names,
            &mut GroupMemory::default(),
        );
        let mut writer = ReportWriter::new(Vec::new(), format, Columns::of(&[&query]));
        writer.bucket(&query, &bucket, &mapped.series).unwrap();
        assert_eq!(writer.rows(), 2);
        String::from_utf8(writer.finish().unwrap()).unwrap()
    }

    #[test]
    fn columns_follow_the_exported_series() {
        assert_eq!(
            Columns::of(&[&query()]).names(),
            [
                "interval_start",
                "interval_end",
                "queue_id",
                "queue_name",
                "media_type",
                "offered",
                "handle_seconds_sum",
                "handle_seconds_count",
                "handle_seconds_max",
                "handle_seconds_min",
                "handle_seconds_p95",
                "handle_seconds_p99",
                "service_level_ratio",
                "service_level_numerator",
                "service_level_denominator",
                "service_level_target",
                "handle_seconds_avg"
            ]
        );
    }

    #[test]
    fn csv_is_rfc_4180_and_zero_filled() {
        let csv = report(Format::Csv);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines.len(), 4, "{csv:?}");
        assert!(lines[0].starts_with("interval_start,interval_end,queue_id,queue_name,"));
        // Rows sorted by group labels: q1 before q2.
        assert_eq!(
            lines[1],
            "2026-11-25T12:00:00Z,2026-11-25T13:00:00Z,q1,\"Billing, \"\"East\"\"\",voice,4,150,2,100,50,,,0.5,1,2,0.8,75"
        );
        // Offered only: the timer reads 0 (as on /metrics) and has no average.
        assert_eq!(
            lines[2],
            "2026-11-25T12:00:00Z,2026-11-25T13:00:00Z,q2,,chat,1,0,0,,,,,,,,,"
        );
        assert_eq!(lines[3], "");
    }

    #[test]
    fn json_lines_hold_one_object_per_row() {
        let json = report(Format::Json);
        let rows: Vec<serde_json::Value> = json
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["queue_name"], "Billing, \"East\"");
        assert_eq!(rows[0]["handle_seconds_avg"], 75.0);
        assert_eq!(rows[1]["handle_seconds_avg"], serde_json::Value::Null);
        assert_eq!(rows[1]["offered"], 1.0);
    }

    #[test]
    fn a_table_aligns_columns_and_shows_averages_as_minutes() {
        let table = report(Format::Table);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].ends_with("01:15"), "{table}");
        let column = |line: &str| line.find("voice").or_else(|| line.find("chat"));
        assert_eq!(column(lines[1]), column(lines[2]), "{table}");
        assert_eq!(table_text(&Cell::Seconds(3725.4)), "1:02:05");
    }
}
