//! The interval report: one row per bucket and group, written as an aligned table, CSV
//! (RFC 4180) or JSON Lines, as the groups come: a request's groups one after the
//! other, each group's buckets in time order (see [`super::fetch`]).
//!
//! The columns are those of [`Columns`]. CSV and JSON Lines hold every one, a table
//! the ones a floor supervisor reads; `--columns` picks others ([`Selection`]). Values
//! are those of `/metrics`, zero-fill included; a series the exporter would not have
//! exported (a timer's `max` in a bucket without measurements) is an empty cell.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use clap::ValueEnum;

use crate::config::{QueryConfig, VoiceSetConfig};
use crate::interval::Interval;
use crate::mapping::group_label_names;
use crate::mapping::voice::voice_label_names;
use crate::series::QuerySeries;

use super::columns::{Columns, Kind, Selection, voice_bucket_column};
use super::fetch::{BucketSink, Entry};

/// How the report is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns, the supervisor's by default, averages as mm:ss and service levels as percentages (the default on a terminal).
    Table,
    /// RFC 4180: a header row, CRLF line ends, fields quoted when needed (the default otherwise).
    Csv,
    /// JSON Lines: one object per row.
    Json,
}

/// One cell: text, a number, or nothing.
#[derive(Clone, Debug, PartialEq)]
enum Cell {
    Text(String),
    Number(f64),
    Empty,
}

/// The columns a report shows: their names, how a table shows each, and where each is
/// in a full row.
#[derive(Debug, Default)]
struct Layout {
    names: Vec<String>,
    kinds: Vec<Kind>,
    positions: Vec<Option<usize>>,
    /// Column widths of a table, fixed by the header and the first rows.
    widths: Vec<usize>,
    /// How many columns there were when it was made.
    known: usize,
}

/// Writes report rows to `out` as they come, a group's bucket (or a voice quality set's
/// bucket) at a time.
pub struct ReportWriter<W: Write> {
    out: W,
    format: Format,
    columns: Columns,
    selection: Selection,
    /// Set by the first bucket (and the header it writes).
    layout: Option<Layout>,
    rows: u64,
}

impl<W: Write> ReportWriter<W> {
    pub fn new(out: W, format: Format, columns: Columns, selection: Selection) -> ReportWriter<W> {
        ReportWriter {
            out,
            format,
            columns,
            selection,
            layout: None,
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
        if self.layout.is_none() {
            self.header(&[])?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    /// The shown columns out of the current ones, placed in the full row.
    fn layout(&self, names: Vec<String>) -> Layout {
        let all = self.columns.all();
        let (kinds, positions) = names
            .iter()
            .map(|name| match all.iter().position(|c| c.name == *name) {
                Some(position) => (all[position].kind, Some(position)),
                None => (Kind::Text, None),
            })
            .unzip();
        Layout {
            names,
            kinds,
            positions,
            widths: Vec::new(),
            known: all.len(),
        }
    }

    /// The full rows of one bucket of `query`, sorted by their group labels; a
    /// qualified series seen for the first time gets its column here.
    fn rows_of(
        &mut self,
        query: &QueryConfig,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> Vec<Vec<Cell>> {
        let labels = group_label_names(query);
        let label_columns: Vec<Option<usize>> = labels
            .iter()
            .map(|label| self.columns.label_position(label))
            .collect();
        let mut groups: BTreeMap<Vec<String>, HashMap<usize, f64>> = BTreeMap::new();
        let prefix = query.source.prefix();
        for family in &series.families {
            let Some(suffix) = family.name.strip_prefix(&prefix) else {
                continue;
            };
            for sample in &family.samples {
                // `query`, `interval`, the group labels, and the qualifier when the API
                // sent one (`qualifier`, or the source's label for it, then its name
                // when it is a named id: the id is the column's).
                let values = sample.labels.values();
                let qualifier = match values.len() - labels.len().min(values.len()) {
                    2 => None,
                    3 | 4 => values.get(2 + labels.len()).map(String::as_str),
                    _ => continue,
                };
                let Some(column) = self
                    .columns
                    .series_position(query.source, suffix, qualifier)
                else {
                    continue;
                };
                groups
                    .entry(values[2..2 + labels.len()].to_vec())
                    .or_default()
                    .insert(column, sample.value);
            }
        }
        self.group_rows(&query.name, bucket, &label_columns, groups)
    }

    /// The full rows of one bucket of the voice quality set `set`, sorted by their
    /// group labels.
    fn voice_rows_of(
        &self,
        set: &VoiceSetConfig,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> Vec<Vec<Cell>> {
        let labels = voice_label_names(set);
        let label_columns: Vec<Option<usize>> = labels
            .iter()
            .map(|label| self.columns.label_position(label))
            .collect();
        let mut groups: BTreeMap<Vec<String>, HashMap<usize, f64>> = BTreeMap::new();
        for family in &series.families {
            let Some(name) = family.name.strip_prefix("genesys_") else {
                continue;
            };
            for sample in &family.samples {
                // `query`, `interval`, the group labels, then `le` or `threshold`.
                let values = sample.labels.values();
                let Some(key) = values.get(2..2 + labels.len()) else {
                    continue;
                };
                let column = match values.get(2 + labels.len()) {
                    Some(le) if name == "voice_mos_bucket" => voice_bucket_column(le),
                    _ => name.to_string(),
                };
                if let Some(column) = self.columns.series_named(&column) {
                    groups
                        .entry(key.to_vec())
                        .or_default()
                        .insert(column, sample.value);
                }
            }
        }
        self.group_rows(&set.name, bucket, &label_columns, groups)
    }

    /// The full rows of one bucket of the entry `name`: per group (its label values,
    /// with the label columns they go to) its series' values by column.
    fn group_rows(
        &self,
        name: &str,
        bucket: &Interval,
        label_columns: &[Option<usize>],
        groups: BTreeMap<Vec<String>, HashMap<usize, f64>>,
    ) -> Vec<Vec<Cell>> {
        let time = |t: chrono::DateTime<chrono::Utc>| {
            Cell::Text(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        let columns = &self.columns;
        groups
            .into_iter()
            .map(|(key, values)| {
                let mut row = Vec::new();
                if columns.with_query() {
                    row.push(Cell::Text(name.to_string()));
                }
                row.push(time(bucket.start));
                row.push(time(bucket.end));
                let mut label_cells = vec![Cell::Empty; columns.label_count()];
                for (value, column) in key.into_iter().zip(label_columns) {
                    if let Some(column) = column {
                        label_cells[*column] = Cell::Text(value);
                    }
                }
                row.extend(label_cells);
                let value = |position: usize| values.get(&position).copied();
                row.extend(
                    (0..columns.series_count()).map(|p| value(p).map_or(Cell::Empty, Cell::Number)),
                );
                for (sum, count) in columns.averages() {
                    row.push(match (value(sum), value(count)) {
                        (Some(sum), Some(count)) if count > 0.0 => Cell::Number(sum / count),
                        _ => Cell::Empty,
                    });
                }
                row
            })
            .collect()
    }

    /// Fixes the shown columns and writes the header (CSV, table).
    fn header(&mut self, rows: &[Vec<Cell>]) -> std::io::Result<()> {
        let all = self.columns.all();
        let mut layout = self.layout(self.selection.shown(&all, self.format == Format::Table));
        match self.format {
            Format::Csv => {
                let line: Vec<String> = layout.names.iter().map(|n| csv_field(n)).collect();
                write!(self.out, "{}\r\n", line.join(","))?;
            }
            Format::Table => {
                layout.widths = layout.names.iter().map(|n| n.chars().count()).collect();
                for row in rows {
                    for (index, width) in layout.widths.iter_mut().enumerate() {
                        let text =
                            table_text(pick(row, layout.positions[index]), layout.kinds[index]);
                        *width = (*width).max(text.chars().count());
                    }
                }
                let line: Vec<String> = layout
                    .names
                    .iter()
                    .zip(&layout.widths)
                    .map(|(name, width)| format!("{name:<width$}"))
                    .collect();
                writeln!(self.out, "{}", line.join("  ").trim_end())?;
            }
            Format::Json => {}
        }
        self.layout = Some(layout);
        Ok(())
    }

    /// After qualified columns appeared: JSON Lines shows them from now on (unless
    /// `--columns` picked others); a header already written cannot, so they are named
    /// in a warning.
    fn grown(&mut self) {
        let Some(layout) = &self.layout else {
            return;
        };
        let all = self.columns.all();
        if all.len() == layout.known {
            return;
        }
        let names = self.selection.shown(&all, self.format == Format::Table);
        if self.format == Format::Json {
            self.layout = Some(self.layout(names));
            return;
        }
        for name in names.iter().filter(|n| !layout.names.contains(n)) {
            tracing::warn!(column = %name, "a qualifier first seen after the header was written: this report has no column for it (--format json has)");
        }
        let mut layout = self.layout(layout.names.clone());
        layout.widths = self.layout.take().map(|l| l.widths).unwrap_or_default();
        self.layout = Some(layout);
    }

    fn row(&mut self, row: &[Cell]) -> std::io::Result<()> {
        let Some(layout) = &self.layout else {
            return Ok(());
        };
        let cells = layout.positions.iter().map(|position| pick(row, *position));
        match self.format {
            Format::Csv => {
                let fields: Vec<String> = cells
                    .map(|cell| match cell {
                        Cell::Text(text) => csv_field(text),
                        Cell::Number(n) => number(*n),
                        Cell::Empty => String::new(),
                    })
                    .collect();
                write!(self.out, "{}\r\n", fields.join(","))
            }
            Format::Json => {
                let mut line = String::from("{");
                for (index, (name, cell)) in layout.names.iter().zip(cells).enumerate() {
                    if index > 0 {
                        line.push(',');
                    }
                    line.push_str(&json_string(name));
                    line.push(':');
                    match cell {
                        Cell::Text(text) => line.push_str(&json_string(text)),
                        Cell::Number(n) if n.is_finite() => line.push_str(&number(*n)),
                        _ => line.push_str("null"),
                    }
                }
                line.push('}');
                writeln!(self.out, "{line}")
            }
            Format::Table => {
                let texts: Vec<String> = cells
                    .zip(&layout.kinds)
                    .zip(layout.widths.iter().chain(std::iter::repeat(&0)))
                    .map(|((cell, kind), width)| {
                        let text = table_text(cell, *kind);
                        match cell {
                            Cell::Number(_) => format!("{text:>width$}"),
                            _ => format!("{text:<width$}"),
                        }
                    })
                    .collect();
                writeln!(self.out, "{}", texts.join("  ").trim_end())
            }
        }
    }
}

/// The cell at `position` of a full row; empty for none.
fn pick(row: &[Cell], position: Option<usize>) -> &Cell {
    position.and_then(|p| row.get(p)).unwrap_or(&Cell::Empty)
}

impl<W: Write> BucketSink for ReportWriter<W> {
    fn bucket(
        &mut self,
        entry: &Entry<'_>,
        bucket: &Interval,
        series: &QuerySeries,
    ) -> std::io::Result<()> {
        let rows = match entry {
            Entry::Query(query) => self.rows_of(query, bucket, series),
            Entry::Voice(set) => self.voice_rows_of(set, bucket, series),
        };
        if self.layout.is_none() {
            self.header(&rows)?;
        } else {
            self.grown();
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

/// How a table shows a cell of a column of `kind`: seconds as mm:ss (h:mm:ss from an
/// hour), ratios as percentages, whole numbers without a fraction, others to 3 places.
fn table_text(cell: &Cell, kind: Kind) -> String {
    match (cell, kind) {
        (Cell::Text(text), _) => text.clone(),
        (Cell::Empty, _) => String::new(),
        (Cell::Number(n), _) if !n.is_finite() => String::new(),
        (Cell::Number(seconds), Kind::Seconds) => {
            let total = seconds.round().max(0.0) as u64;
            let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
            if hours > 0 {
                format!("{hours}:{minutes:02}:{seconds:02}")
            } else {
                format!("{minutes:02}:{seconds:02}")
            }
        }
        (Cell::Number(ratio), Kind::Percent) => format!("{:.1}%", ratio * 100.0),
        (Cell::Number(n), _) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{n:.0}"),
        (Cell::Number(n), _) => format!("{n:.3}"),
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
            source: crate::genesys::sources::CONVERSATIONS,
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

    /// The series of one bucket of [`query`] mapped from the API's `results`, with q1
    /// named.
    fn mapped(results: serde_json::Value) -> (QueryConfig, Interval, QuerySeries) {
        let query = query();
        let bucket: Interval = "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z".parse().unwrap();
        let response: AggregateResponse =
            serde_json::from_value(serde_json::json!({ "results": results })).unwrap();
        let names = Names::from_tables([(
            "queueId",
            HashMap::from([("q1".to_string(), "Billing, \"East\"".to_string())]),
        )]);
        let series = map_response(
            &query,
            &bucket,
            &response,
            &names,
            &mut GroupMemory::default(),
        )
        .series;
        (query, bucket, series)
    }

    /// The report of one bucket in `format`.
    fn written(results: serde_json::Value, format: Format) -> String {
        let (query, bucket, series) = mapped(results);
        let mut writer = ReportWriter::new(
            Vec::new(),
            format,
            Columns::of(&[&query]),
            Selection::Default,
        );
        writer
            .bucket(&Entry::Query(&query), &bucket, &series)
            .unwrap();
        String::from_utf8(writer.finish().unwrap()).unwrap()
    }

    fn report(format: Format) -> String {
        written(
            serde_json::json!([
            {"group": {"queueId": "q1", "mediaType": "voice"}, "data": [
                {"interval": "2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z", "metrics": [
                    {"metric": "nOffered", "stats": {"count": 4}},
                    {"metric": "tHandle", "stats": {"count": 2, "sum": 150000, "max": 100000, "min": 50000}},
                    {"metric": "oServiceLevel", "stats": {"ratio": 0.5, "numerator": 1, "denominator": 2, "target": 0.8}}]}]},
            {"group": {"queueId": "q2", "mediaType": "chat"}, "data": [
                {"interval": "2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z", "metrics": [
                    {"metric": "nOffered", "stats": {"count": 1}}]}]}]),
            format,
        )
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
    fn a_table_shows_names_counts_averages_as_minutes_and_levels_as_percentages() {
        let table = report(Format::Table);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        // Names instead of ids, counts, then averages, then service levels.
        assert_eq!(
            lines[0],
            "interval_start        queue_name       media_type  offered  handle_seconds_avg  service_level_ratio"
        );
        assert!(lines[1].ends_with(" 01:15                50.0%"), "{table}");
        let column = |line: &str| line.find("voice").or_else(|| line.find("chat"));
        assert_eq!(column(lines[1]), column(lines[2]), "{table}");
        let seconds = |s| table_text(&Cell::Number(s), Kind::Seconds);
        assert_eq!(seconds(3725.4), "1:02:05");
        assert_eq!(seconds(59.5), "01:00");
        assert_eq!(table_text(&Cell::Number(0.8126), Kind::Percent), "81.3%");
    }

    /// A series with a `qualifier` gets its own columns, the qualifier in snake case
    /// after the metric's base name.
    #[test]
    fn qualified_series_get_columns() {
        let csv = written(
            serde_json::json!([
            {"group": {"queueId": "q9", "mediaType": "voice"}, "data": [
                {"interval": "2026-11-25T12:00:00.000Z/2026-11-25T13:00:00.000Z", "metrics": [
                    {"metric": "nOffered", "stats": {"count": 4}},
                    {"metric": "nOffered", "qualifier": "ON_QUEUE", "stats": {"count": 3}},
                    {"metric": "tHandle", "qualifier": "ON_QUEUE", "stats": {"count": 2, "sum": 90000}}]}]}]),
            Format::Csv,
        );
        let lines: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
        let cell = |name: &str| {
            let column = lines[0].iter().position(|c| *c == name);
            column.map(|c| lines[1][c])
        };
        assert_eq!(cell("offered"), Some("4"), "{csv}");
        assert_eq!(cell("offered_on_queue"), Some("3"), "{csv}");
        assert_eq!(cell("handle_on_queue_seconds_sum"), Some("90"), "{csv}");
        assert_eq!(cell("handle_on_queue_seconds_avg"), Some("45"), "{csv}");
    }
}
