//! Bounded property tests of the two parsers of outside input, in the normal suite: the
//! aggregates response (bytes into `AggregateResponse`, then `map_response`) and the
//! query config (`Config::from_yaml`). The fuzz targets in `fuzz/` check the same
//! invariants (`tests/invariants/mod.rs`) for much longer; these keep them from rotting.
//!
//! Case counts are set so that the whole file runs in a few seconds.

mod invariants;

use std::fmt::Write as _;

use genesys_cloud_exporter::config::Config;
use genesys_cloud_exporter::interval::Granularity;
use genesys_cloud_exporter::series::QuerySeries;
use proptest::prelude::*;
use proptest::sample::subsequence;

use invariants::{INTERVAL, ORIGIN, check_aggregates, check_config};

/// Few cases per property, no regression files written into the tree: a failure is
/// turned into an example test below instead.
fn bounded(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Aggregates responses.

/// A stat value as JSON text, and the number the exporter must read from it (`None`:
/// skipped with a warning).
fn stat_value() -> impl Strategy<Value = (String, Option<f64>)> {
    prop_oneof![
        4 => any::<i64>().prop_map(|n| (n.to_string(), Some(n as f64))),
        2 => any::<u64>().prop_map(|n| (n.to_string(), Some(n as f64))),
        // serde_json's float reading (without its float_roundtrip feature) may be one
        // unit in the last place off; values it reads back exactly keep the check exact.
        4 => any::<f64>()
            .prop_map(|x| (format!("{x:e}"), x))
            .prop_filter("finite, read back exactly", |(text, x)| {
                x.is_finite() && serde_json::from_str::<f64>(text).ok() == Some(*x)
            })
            .prop_map(|(text, x)| (text, Some(x))),
        1 => Just(("1.7976931348623157e308".to_string(), Some(f64::MAX))),
        1 => prop_oneof![
            Just("1e400"),
            Just("-1e400"),
            Just("null"),
            Just("\"NaN\""),
            Just("\"Infinity\""),
            Just("\"12\""),
            Just("true"),
            Just("[1]"),
            Just("{\"value\": 1}"),
            Just("\"\""),
        ]
        .prop_map(|text| (text.to_string(), None)),
    ]
}

/// Any small JSON value, for unknown fields.
fn unknown_value() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("1"),
        Just("\"s\""),
        Just("null"),
        Just("[1, {\"a\": []}]"),
        Just("{\"deep\": {\"x\": 1e400}}"),
    ]
}

/// Stat names: those the exporter reads, and some it does not know.
const STATS: [&str; 13] = [
    "count",
    "sum",
    "max",
    "min",
    "p95",
    "p99",
    "ratio",
    "numerator",
    "denominator",
    "target",
    "countNegative",
    "calculatedMetricValue",
    "futureStat",
];

/// Metric names: those the fixed query asks for, and two it does not.
const METRICS: [&str; 7] = [
    "nOffered",
    "nConnected",
    "tHandle",
    "tAbandon",
    "oServiceLevel",
    "nNotAsked",
    "tNotAsked",
];

#[derive(Clone, Debug)]
struct Entry {
    metric: &'static str,
    stats: Vec<(&'static str, String, Option<f64>)>,
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        proptest::sample::select(&METRICS[..]),
        subsequence(&STATS[..], 0..=STATS.len()),
        proptest::collection::vec(stat_value(), STATS.len()),
    )
        .prop_map(|(metric, names, values)| Entry {
            metric,
            stats: names
                .into_iter()
                .zip(values)
                .map(|(name, (text, value))| (name, text, value))
                .collect(),
        })
}

/// Where a bucket is: the polled interval, or one the mapping must skip with a warning.
#[derive(Clone, Copy, Debug, PartialEq)]
enum BucketAt {
    Polled,
    Earlier,
    Garbage,
    Missing,
    Null,
}

#[derive(Clone, Debug)]
struct Bucket {
    at: BucketAt,
    entries: Vec<Entry>,
    null_entry: bool,
}

#[derive(Clone, Debug)]
struct Group {
    /// JSON text of `mediaType`, or none.
    media_type: Option<&'static str>,
    user_id: bool,
    /// Unknown fields at the result level and in the group.
    unknown: Option<&'static str>,
    buckets: Vec<Bucket>,
}

fn group() -> impl Strategy<Value = Group> {
    let metric_entries = || {
        proptest::collection::vec(entry(), 0..5).prop_map(|entries| {
            // One entry per metric name in a bucket, as Genesys writes them.
            let mut seen = Vec::new();
            entries
                .into_iter()
                .filter(|e| {
                    let new = !seen.contains(&e.metric);
                    seen.push(e.metric);
                    new
                })
                .collect::<Vec<_>>()
        })
    };
    let others = proptest::collection::vec(
        (
            prop_oneof![
                Just(BucketAt::Earlier),
                Just(BucketAt::Garbage),
                Just(BucketAt::Missing),
                Just(BucketAt::Null)
            ],
            metric_entries(),
            any::<bool>(),
        )
            .prop_map(|(at, entries, null_entry)| Bucket {
                at,
                entries,
                null_entry,
            }),
        0..2,
    );
    (
        proptest::option::of(prop_oneof![
            Just("\"voice\""),
            Just("null"),
            Just("[\"voice\", \"callback\"]"),
            Just("7")
        ]),
        any::<bool>(),
        proptest::option::of(unknown_value()),
        proptest::option::of((metric_entries(), any::<bool>())),
        others,
    )
        .prop_map(|(media_type, user_id, unknown, polled, others)| {
            let mut buckets: Vec<Bucket> = polled
                .map(|(entries, null_entry)| Bucket {
                    at: BucketAt::Polled,
                    entries,
                    null_entry,
                })
                .into_iter()
                .collect();
            buckets.extend(others);
            Group {
                media_type,
                user_id,
                unknown,
                buckets,
            }
        })
}

/// A response of the documented shape, with the odd values above in it.
#[derive(Clone, Debug)]
struct Response {
    groups: Vec<Group>,
    /// Results with an empty, null or missing group and no data.
    empty_results: usize,
    unknown: Option<&'static str>,
}

fn response() -> impl Strategy<Value = Response> {
    (
        proptest::collection::vec(group(), 0..6),
        0..3usize,
        proptest::option::of(unknown_value()),
    )
        .prop_map(|(groups, empty_results, unknown)| Response {
            groups,
            empty_results,
            unknown,
        })
}

impl Response {
    /// The JSON text; group `i` has `queueId` `q-i`, so groups never merge.
    fn to_json(&self) -> String {
        let mut results = Vec::new();
        for (i, group) in self.groups.iter().enumerate() {
            let mut keys = vec![format!("\"queueId\": \"q-{i}\"")];
            if let Some(media) = group.media_type {
                keys.push(format!("\"mediaType\": {media}"));
            }
            if group.user_id {
                keys.push(format!("\"userId\": \"u-{i}\""));
            }
            if let Some(unknown) = group.unknown {
                keys.push(format!("\"notGrouped\": {unknown}"));
            }
            let buckets: Vec<String> = group.buckets.iter().map(bucket_json).collect();
            let mut result = format!(
                "{{\"group\": {{{}}}, \"data\": [{}]",
                keys.join(", "),
                buckets.join(", ")
            );
            if let Some(unknown) = group.unknown {
                write!(result, ", \"newField\": {unknown}").unwrap();
            }
            result.push('}');
            results.push(result);
        }
        for kind in 0..self.empty_results {
            results.push(
                [
                    "{}",
                    "{\"group\": null, \"data\": null}",
                    "{\"group\": {}, \"data\": []}",
                ][kind % 3]
                    .to_string(),
            );
        }
        let mut json = format!("{{\"results\": [{}]", results.join(", "));
        if let Some(unknown) = self.unknown {
            write!(json, ", \"totalHits\": {unknown}").unwrap();
        }
        json.push('}');
        json
    }

    /// Values that cannot be read, in entries the query asked for in the polled
    /// interval, plus buckets of another interval: each must cost at least one warning.
    fn odd_parts(&self) -> u64 {
        let mut odd = 0;
        for bucket in self.groups.iter().flat_map(|g| &g.buckets) {
            if bucket.at != BucketAt::Polled {
                odd += 1;
                continue;
            }
            for entry in bucket.entries.iter().filter(|e| is_asked(e.metric)) {
                odd += entry.stats.iter().filter(|(_, _, v)| v.is_none()).count() as u64;
            }
        }
        odd
    }
}

fn bucket_json(bucket: &Bucket) -> String {
    let interval = match bucket.at {
        BucketAt::Polled => format!("\"interval\": \"{INTERVAL}\", "),
        BucketAt::Earlier => {
            "\"interval\": \"2026-11-25T11:30:00.000Z/2026-11-25T12:00:00.000Z\", ".to_string()
        }
        BucketAt::Garbage => "\"interval\": \"yesterday\", ".to_string(),
        BucketAt::Missing => String::new(),
        BucketAt::Null => "\"interval\": null, ".to_string(),
    };
    // An entry of nulls, which names no metric and so is ignored.
    let nulls = "{\"metric\": null, \"qualifier\": null, \"stats\": null}".to_string();
    let entries: Vec<String> = bucket
        .entries
        .iter()
        .map(|entry| {
            let stats: Vec<String> = entry
                .stats
                .iter()
                .map(|(name, text, _)| format!("\"{name}\": {text}"))
                .collect();
            format!(
                "{{\"metric\": \"{}\", \"stats\": {{{}}}}}",
                entry.metric,
                stats.join(", ")
            )
        })
        .chain(bucket.null_entry.then_some(nulls))
        .collect();
    format!("{{{interval}\"metrics\": [{}]}}", entries.join(", "))
}

fn is_asked(metric: &str) -> bool {
    invariants::query().metrics.iter().any(|m| m == metric)
}

/// The value of `family` for the group whose queue id is `queue`, if exported.
fn exported(series: &QuerySeries, family: &str, queue: &str) -> Option<f64> {
    let family = series.families.iter().find(|f| *f.name == *family)?;
    let samples: Vec<f64> = family
        .samples
        .iter()
        .filter(|s| {
            s.labels
                .pairs()
                .any(|(name, value)| name == "queue_id" && value == queue)
        })
        .map(|s| s.value)
        .collect();
    assert!(samples.len() <= 1, "{family:?}");
    samples.first().copied()
}

/// The series name of one stat of a metric, as the README's metric table gives it. The
/// snake_case names are spelled out here: derived with the exporter's own conversion, a
/// mistake in it would go unseen.
fn series_name(metric: &str, stat: &str) -> Option<String> {
    let base = match metric {
        "nOffered" => "offered",
        "nConnected" => "connected",
        "tHandle" => "handle",
        "tAbandon" => "abandon",
        "oServiceLevel" => "service_level",
        _ => return None,
    };
    let stat_name = match stat {
        "countNegative" => "count_negative",
        "calculatedMetricValue" => "calculated_metric_value",
        "futureStat" => "future_stat",
        other => other,
    };
    match metric.as_bytes()[0] {
        b'n' if stat == "count" => Some(format!("genesys_conversation_{base}")),
        b't' if ["sum", "count", "max", "min", "p95", "p99"].contains(&stat) => {
            Some(format!("genesys_conversation_{base}_seconds_{stat}"))
        }
        b'o' => Some(format!("genesys_conversation_{base}_{stat_name}")),
        _ => None,
    }
}

proptest! {
    #![proptest_config(bounded(256))]

    /// Whatever bytes arrive, parsing and mapping never panic, and what parses maps to
    /// valid series.
    #[test]
    fn any_bytes_are_refused_or_mapped(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(problem) = check_aggregates(&bytes) {
            prop_assert!(false, "{}", problem);
        }
    }

    /// The documented response with bytes replaced: near misses of the real shape.
    #[test]
    fn mangled_responses_are_refused_or_mapped(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)
    ) {
        let mut bytes = Response::documented().into_bytes();
        for (index, byte) in edits {
            let at = index.index(bytes.len());
            bytes[at] = byte;
        }
        if let Err(problem) = check_aggregates(&bytes) {
            prop_assert!(false, "{}", problem);
        }
    }
}

impl Response {
    fn documented() -> String {
        format!(
            r#"{{"results": [{{"group": {{"queueId": "q-1", "mediaType": "voice"}}, "data": [{{"interval": "{INTERVAL}", "metrics": [{{"metric": "nOffered", "stats": {{"count": 42}}}}, {{"metric": "tHandle", "stats": {{"max": 1203344, "min": 30211, "count": 37, "sum": 11874102}}}}, {{"metric": "oServiceLevel", "stats": {{"ratio": 0.81, "numerator": 30, "denominator": 37, "target": 0.8}}}}]}}]}}]}}"#
        )
    }
}

proptest! {
    #![proptest_config(bounded(128))]

    /// Responses of the real shape with nulls, negatives, NaN and numbers as strings,
    /// numbers beyond f64, missing keys, unknown fields and empty groups: they always
    /// parse (one odd value never fails the poll), every readable value of an asked-for
    /// metric is exported with its unit converted, absent metrics read zero, and each
    /// odd part is counted as a warning.
    #[test]
    fn odd_responses_parse_and_map_with_counted_warnings(response in response()) {
        let json = response.to_json();
        let mapped = match check_aggregates(json.as_bytes()) {
            Ok(Some(mapped)) => mapped,
            Ok(None) => {
                return Err(TestCaseError::fail(format!("refused: {json}")));
            }
            Err(problem) => {
                return Err(TestCaseError::fail(format!("{}\n{}", problem, json)));
            }
        };
        let series = &mapped.series;
        for (i, group) in response.groups.iter().enumerate() {
            let queue = format!("q-{i}");
            let polled = group.buckets.iter().find(|b| b.at == BucketAt::Polled);
            let Some(polled) = polled.filter(|b| !b.entries.is_empty() || b.null_entry) else {
                // No entry for this interval: the group is not exported at all. (With any
                // entry, even one naming no metric, it is, and zero-filled.)
                prop_assert_eq!(
                    exported(series, "genesys_conversation_offered", &queue), None
                );
                continue;
            };
            for metric in METRICS.iter().filter(|m| is_asked(m)) {
                match polled.entries.iter().find(|e| e.metric == *metric) {
                    Some(entry) => {
                        for (stat, _, value) in &entry.stats {
                            let (Some(name), Some(value)) = (series_name(metric, stat), value)
                            else {
                                continue;
                            };
                            let expected = if metric.starts_with('t') && *stat != "count" {
                                value / 1000.0
                            } else {
                                *value
                            };
                            prop_assert_eq!(
                                exported(series, &name, &queue), Some(expected),
                                "{} {}.{}\n{}", name, metric, stat, json
                            );
                        }
                    }
                    None if metric.starts_with('n') => {
                        let name = series_name(metric, "count").unwrap_or_default();
                        prop_assert_eq!(exported(series, &name, &queue), Some(0.0));
                    }
                    None if metric.starts_with('t') => {
                        for stat in ["sum", "count"] {
                            let name = series_name(metric, stat).unwrap_or_default();
                            prop_assert_eq!(exported(series, &name, &queue), Some(0.0));
                        }
                    }
                    None => {}
                }
            }
        }
        let odd = response.odd_parts();
        prop_assert!(
            mapped.warnings >= odd,
            "{} warnings for {} odd parts\n{}", mapped.warnings, odd, json
        );
        if odd == 0 {
            prop_assert_eq!(mapped.warnings, count_missing(&response), "{}", json);
        }
    }
}

/// Warnings a response without odd values still earns: an asked-for count metric whose
/// entry has no `count` stat at all (there is nothing to export for it).
fn count_missing(response: &Response) -> u64 {
    response
        .groups
        .iter()
        .flat_map(|g| &g.buckets)
        .filter(|b| b.at == BucketAt::Polled)
        .flat_map(|b| &b.entries)
        .filter(|e| e.metric.starts_with('n') && is_asked(e.metric))
        .filter(|e| !e.stats.iter().any(|(name, _, _)| *name == "count"))
        .count() as u64
}

// ---------------------------------------------------------------------------------------
// The query config.

/// The fields of one valid query, as text.
#[derive(Clone, Debug)]
struct QuerySpec {
    name: String,
    granularity: String,
    time_zone: Option<&'static str>,
    settle_delay: Option<u64>,
    refresh: Option<u64>,
    group_by: Vec<&'static str>,
    metrics: Vec<&'static str>,
    filter: Option<&'static str>,
}

const DIMENSIONS: [&str; 7] = [
    "queueId",
    "mediaType",
    "direction",
    "userId",
    "wrapUpCode",
    "divisionId",
    "originatingDirection",
];
const CONFIG_METRICS: [&str; 8] = [
    "nOffered",
    "nConnected",
    "nOverSla",
    "tHandle",
    "tAnswered",
    "tAbandon",
    "tTalkComplete",
    "oServiceLevel",
];
const ZONES: [&str; 5] = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Asia/Kolkata",
    "Australia/Lord_Howe",
];
const FILTERS: [&str; 3] = [
    "{type: and, predicates: [{type: dimension, dimension: mediaType, value: voice}]}",
    "{type: or, clauses: [{type: and, predicates: [{type: dimension, dimension: direction, operator: matches, value: inbound}]}]}",
    "{type: and, predicates: [{type: dimension, dimension: queueId, operator: exists}], clauses: [{type: or, predicates: [{}]}]}",
];

fn query_spec(index: usize) -> impl Strategy<Value = QuerySpec> {
    let granularities: Vec<String> = Granularity::all().iter().map(|g| g.as_iso8601()).collect();
    (
        "[a-z][a-z0-9_.:-]{0,12}",
        proptest::sample::select(granularities),
        proptest::option::of(proptest::sample::select(&ZONES[..])),
        proptest::option::of(0..=3600u64),
        proptest::option::of(10..=86_400u64),
        subsequence(&DIMENSIONS[..], 0..=DIMENSIONS.len()).prop_shuffle(),
        subsequence(&CONFIG_METRICS[..], 1..=CONFIG_METRICS.len()).prop_shuffle(),
        proptest::option::of(proptest::sample::select(&FILTERS[..])),
    )
        .prop_map(
            move |(
                prefix,
                granularity,
                time_zone,
                settle_delay,
                refresh,
                group_by,
                metrics,
                filter,
            )| {
                QuerySpec {
                    // The index keeps names unique.
                    name: format!("{prefix}{index}"),
                    granularity,
                    time_zone,
                    settle_delay,
                    refresh,
                    group_by,
                    metrics,
                    filter,
                }
            },
        )
}

fn config_spec() -> impl Strategy<Value = (Vec<QuerySpec>, bool)> {
    (
        (0..3usize).prop_flat_map(|extra| (0..=extra).map(query_spec).collect::<Vec<_>>()),
        any::<bool>(),
    )
}

/// A field of one query replaced (`Some`) or left out (`None`), or an extra key added.
type Override = (&'static str, Option<String>);

/// The config as YAML, in block or flow style, with `overrides` applied to query
/// `target`.
fn render(queries: &[QuerySpec], flow: bool, target: usize, overrides: &[Override]) -> String {
    let mut out = String::from("# generated\nqueries:\n");
    for (i, q) in queries.iter().enumerate() {
        let mut fields: Vec<(&'static str, String)> = vec![
            ("name", q.name.clone()),
            ("granularity", q.granularity.clone()),
            ("group_by", format!("[{}]", q.group_by.join(", "))),
            ("metrics", format!("[{}]", q.metrics.join(", "))),
        ];
        if let Some(tz) = q.time_zone {
            fields.push(("time_zone", tz.to_string()));
        }
        if let Some(s) = q.settle_delay {
            fields.push(("settle_delay", format!("{s}s")));
        }
        if let Some(r) = q.refresh {
            fields.push(("refresh", format!("{}m {}s", r / 60, r % 60)));
        }
        if let Some(filter) = q.filter {
            fields.push(("filter", filter.to_string()));
        }
        if i == target {
            for (key, value) in overrides {
                fields.retain(|(k, _)| k != key);
                if let Some(value) = value {
                    fields.push((key, value.clone()));
                }
            }
        }
        let pairs: Vec<String> = fields.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        if flow {
            writeln!(out, "  - {{{}}}", pairs.join(", ")).unwrap();
        } else {
            writeln!(out, "  - {}", pairs.join("\n    ")).unwrap();
        }
    }
    out
}

/// One corruption of a valid query, the field the message must name and, for a
/// duplicate name, how it must name the query.
fn corruption() -> impl Strategy<Value = (Vec<Override>, &'static str)> {
    let one = |key: &'static str, value: &str| vec![(key, Some(value.to_string()))];
    prop_oneof![
        Just((one("granularity", "PT7M"), "granularity")),
        Just((one("granularity", "30"), "granularity")),
        Just((one("time_zone", "Mars/Olympus_Mons"), "time_zone")),
        Just((one("time_zone", "[UTC]"), "time_zone")),
        Just((one("settle_delay", "soon"), "settle_delay")),
        Just((one("settle_delay", "2h"), "settle_delay")),
        Just((one("refresh", "1s"), "refresh")),
        Just((one("metrics", "[]"), "metrics")),
        Just((one("metrics", "[offered]"), "metrics[0]")),
        Just((one("metrics", "{nOffered: 1}"), "metrics")),
        Just((vec![("metrics", None)], "metrics")),
        Just((vec![("granularity", None)], "granularity")),
        Just((one("group_by", "[queueName]"), "group_by[0]")),
        Just((one("group_by", "[queue_id]"), "group_by[0]")),
        Just((one("groupBy", "[queueId]"), "groupBy")),
        Just((one("colour", "blue"), "colour")),
        Just((one("filter", "voice"), "filter")),
        Just((
            one("filter", "{type: xor, predicates: [{}]}"),
            "filter.type"
        )),
    ]
}

proptest! {
    #![proptest_config(bounded(256))]

    /// Whatever text a config file holds, parsing never panics; errors are one line
    /// naming the file, and what is accepted round-trips and maps valid series.
    #[test]
    fn any_text_is_refused_or_accepted(text in ".{0,300}") {
        if let Err(problem) = check_config(&text) {
            prop_assert!(false, "{}", problem);
        }
    }

    /// YAML-looking text: config keys and values in random order and nesting.
    #[test]
    fn yaml_like_text_is_refused_or_accepted(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("queries:"), Just("\n"), Just("  - "), Just("    "), Just("name: "),
                Just("q1"), Just("granularity: "), Just("PT30M"), Just("P1D"), Just("metrics: "),
                Just("[nOffered, tHandle]"), Just("group_by: "), Just("[queueId, qualifier]"),
                Just("time_zone: "), Just("Europe/London"), Just("settle_delay: "), Just("90s"),
                Just("refresh: "), Just("filter: "), Just("{type: and, predicates: [{}]}"),
                Just("&a "), Just("*a"), Just("{"), Just("}"), Just("["), Just("]"), Just(", "),
                Just("~"), Just("!!str "), Just("'"), Just("\""), Just("# c"), Just("-"),
            ],
            0..40,
        )
    ) {
        let text: String = parts.concat();
        if let Err(problem) = check_config(&text) {
            prop_assert!(false, "{}\n{}", problem, text);
        }
    }
}

proptest! {
    #![proptest_config(bounded(64))]

    /// Valid configs, generated in block or flow style, are accepted with the values
    /// written, and pass every check.
    #[test]
    fn valid_configs_are_accepted((queries, flow) in config_spec()) {
        let text = render(&queries, flow, usize::MAX, &[]);
        let config = match check_config(&text) {
            Ok(Some(config)) => config,
            Ok(None) => {
                let refusal = Config::from_yaml(&text, ORIGIN).err().map(|e| e.to_string());
                return Err(TestCaseError::fail(format!("refused: {refusal:?}\n{text}")));
            }
            Err(problem) => {
                return Err(TestCaseError::fail(format!("{}\n{}", problem, text)));
            }
        };
        prop_assert_eq!(config.queries.len(), queries.len());
        for (parsed, spec) in config.queries.iter().zip(&queries) {
            prop_assert_eq!(&parsed.name, &spec.name);
            prop_assert_eq!(parsed.granularity.as_iso8601(), spec.granularity.clone());
            prop_assert_eq!(parsed.time_zone.name(), spec.time_zone.unwrap_or("UTC"));
            prop_assert_eq!(
                parsed.settle_delay.as_secs(), spec.settle_delay.unwrap_or(90)
            );
            prop_assert_eq!(parsed.refresh.map(|r| r.as_secs()), spec.refresh);
            prop_assert_eq!(&parsed.group_by, &spec.group_by);
            prop_assert_eq!(&parsed.metrics, &spec.metrics);
            prop_assert_eq!(parsed.filter.is_some(), spec.filter.is_some());
        }
    }

    /// A valid config with one corruption in one query is refused, not accepted and not a
    /// panic, with a message naming the file, the query and the field.
    #[test]
    fn one_corruption_is_refused_naming_query_and_field(
        (queries, flow) in config_spec(),
        target in any::<prop::sample::Index>(),
        (overrides, field) in corruption(),
    ) {
        let target = target.index(queries.len());
        let text = render(&queries, flow, target, &overrides);
        let message = match Config::from_yaml(&text, ORIGIN) {
            Ok(config) => {
                return Err(TestCaseError::fail(format!("accepted {:?}\n{}", config, text)));
            }
            Err(e) => e.to_string(),
        };
        prop_assert!(message.starts_with(ORIGIN), "{}", message);
        let query = format!(": query {:?}: ", queries[target].name);
        prop_assert!(message.contains(&query), "{} not named: {}\n{}", query, message, text);
        let field = format!("field `{field}`: ");
        prop_assert!(message.contains(&field), "{} not named: {}\n{}", field, message, text);
    }

    /// Two queries with one name: the second is refused by position, naming the first.
    #[test]
    fn duplicate_names_are_refused((queries, flow) in config_spec()) {
        prop_assume!(queries.len() >= 2);
        let last = queries.len() - 1;
        let text = render(&queries, flow, last, &[("name", Some(queries[0].name.clone()))]);
        let message = match Config::from_yaml(&text, ORIGIN) {
            Ok(config) => {
                return Err(TestCaseError::fail(format!("accepted {:?}\n{}", config, text)));
            }
            Err(e) => e.to_string(),
        };
        let expected = format!(
            "{ORIGIN}: queries[{last}]: field `name`: {:?} is already the name of queries[0]",
            queries[0].name
        );
        prop_assert!(message.starts_with(&expected), "{}", message);
    }
}

// ---------------------------------------------------------------------------------------
// Inputs the property tests and fuzzers found, kept as examples.

/// A stat beyond f64 failed the whole response (serde_json refuses such numbers).
#[test]
fn a_number_beyond_f64_costs_one_stat() {
    let body = format!(
        r#"{{"results": [{{"group": {{"queueId": "q-1"}}, "data": [{{"interval": "{INTERVAL}",
            "metrics": [{{"metric": "nOffered", "stats": {{"count": 1e400}}}},
                        {{"metric": "nConnected", "stats": {{"count": 3}}}}]}}]}}]}}"#
    );
    let mapped = match check_aggregates(body.as_bytes()) {
        Ok(Some(mapped)) => mapped,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        exported(&mapped.series, "genesys_conversation_connected", "q-1"),
        Some(3.0)
    );
    // The count that could not be read is skipped, and counted twice: as a stat that is
    // not a number, and as a count metric without a count.
    assert_eq!(
        exported(&mapped.series, "genesys_conversation_offered", "q-1"),
        None
    );
    assert_eq!(mapped.warnings, 2);
}

/// A group or unknown field holding such a number, or a null metric name or interval,
/// also failed the whole response.
#[test]
fn numbers_beyond_f64_and_nulls_elsewhere_are_tolerated() {
    let body = r#"{"results": [{"group": {"queueId": 1e400, "mediaType": null},
        "newField": {"deep": [1e400]},
        "data": [{"interval": null, "metrics": [{"metric": null, "stats": null}]}]}]}"#;
    let mapped = match check_aggregates(body.as_bytes()) {
        Ok(Some(mapped)) => mapped,
        other => panic!("{other:?}"),
    };
    // The bucket without an interval is skipped with a warning.
    assert_eq!(mapped.warnings, 1);
}

/// The same metric twice in one bucket (or a group sent twice) gave two series with the
/// same labels, which Prometheus rejects; the first is kept and the rest counted.
#[test]
fn a_metric_sent_twice_is_exported_once() {
    let body = format!(
        r#"{{"results": [
            {{"group": {{"queueId": "q-1"}}, "data": [{{"interval": "{INTERVAL}",
              "metrics": [{{"metric": "nOffered", "stats": {{"count": 4}}}},
                          {{"metric": "nOffered", "stats": {{"count": 5}}}}]}}]}},
            {{"group": {{"queueId": "q-1"}}, "data": [{{"interval": "{INTERVAL}",
              "metrics": [{{"metric": "nOffered", "stats": {{"count": 6}}}}]}}]}}]}}"#
    );
    let mapped = match check_aggregates(body.as_bytes()) {
        Ok(Some(mapped)) => mapped,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        exported(&mapped.series, "genesys_conversation_offered", "q-1"),
        Some(4.0)
    );
    assert_eq!(mapped.warnings, 2);
}

/// Observation stats whose names meet in snake_case (`ratio` and `Ratio`), or a stat
/// repeated in the JSON, gave two series with the same labels.
#[test]
fn observation_stats_that_meet_in_snake_case_are_exported_once() {
    let body = format!(
        r#"{{"results": [{{"group": {{"queueId": "q-1"}}, "data": [{{"interval": "{INTERVAL}",
            "metrics": [{{"metric": "oServiceLevel",
                          "stats": {{"ratio": 0.5, "Ratio": 0.6, "target": 0.8, "target": 0.9}}}}]}}]}}]}}"#
    );
    let mapped = match check_aggregates(body.as_bytes()) {
        Ok(Some(mapped)) => mapped,
        other => panic!("{other:?}"),
    };
    let series = &mapped.series;
    assert_eq!(
        exported(series, "genesys_conversation_service_level_ratio", "q-1"),
        Some(0.5)
    );
    assert_eq!(
        exported(series, "genesys_conversation_service_level_target", "q-1"),
        Some(0.8)
    );
    assert_eq!(mapped.warnings, 2);
}

/// `group_by: [qualifier]` made a second `qualifier` label on entries that carry one.
#[test]
fn qualifier_is_a_reserved_label() {
    let text = "queries: [{name: q, granularity: PT30M, group_by: [queueId, qualifier], metrics: [nOffered]}]";
    assert!(matches!(check_config(text), Ok(None)));
    let message = match Config::from_yaml(text, ORIGIN) {
        Ok(config) => panic!("accepted {config:?}"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains("field `group_by[1]`: \"qualifier\" would become the label `qualifier`"),
        "{message}"
    );
}

/// An unknown key spanning lines (carriage returns in a flow mapping) put line breaks
/// into the one-line message, through the key it names. Found by the config fuzzer.
#[test]
fn an_unknown_key_spanning_lines_keeps_the_message_on_one_line() {
    let text = "queries: [{name: q2, granular yit:PT31\r\r\r\rueId\n";
    assert!(matches!(check_config(text), Ok(None)));
    let message = match Config::from_yaml(text, ORIGIN) {
        Ok(config) => panic!("accepted {config:?}"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.starts_with("fuzz.yml:1:22: queries[0]: field `granular yit:PT31"),
        "{message}"
    );
    assert!(message.contains("did you mean `granularity`?"), "{message}");
}
