//! Loading and validating config files, and the messages of broken ones.

use super::diagnostics::*;
use super::*;
use serde_json::json;

const ORIGIN: &str = "test.yml";

/// The example from the documentation.
const EXAMPLE: &str = "\
queries:
  - name: queues              # unique; becomes the `query` label
    granularity: PT30M        # PT5M..P1D, ISO-8601
    time_zone: UTC            # IANA; aligns P1D buckets to local midnight, DST-correct
    settle_delay: 90s         # wait after an interval ends before querying it (humantime)
    refresh: 5m               # optional: re-query the latest completed interval this often
    group_by: [queueId, mediaType, direction]
    metrics: [nOffered, nConnected, nTransferred, nOverSla, tHandle, tTalk, tHeld, tAcw,
              tAnswered, tWait, tAbandon, tShortAbandon, oServiceLevel]
    filter: {type: and, predicates: [{type: dimension, dimension: mediaType, value: voice}]}
";

fn parse(text: &str) -> Config {
    match Config::from_yaml(text, ORIGIN) {
        Ok(config) => config,
        Err(e) => panic!("{e}"),
    }
}

fn error(text: &str) -> ConfigError {
    match Config::from_yaml(text, ORIGIN) {
        Ok(config) => panic!("accepted: {text}\n{config:?}"),
        Err(e) => e,
    }
}

/// One valid query in flow style with `extra` appended to its mapping.
fn one(extra: &str) -> String {
    format!("queries:\n  - {{name: q1, granularity: PT30M, metrics: [nOffered]{extra}}}\n")
}

/// The same query with `metrics` replaced.
fn with_metrics(metrics: &str) -> String {
    format!("queries:\n  - {{name: q1, granularity: PT30M, metrics: {metrics}}}\n")
}

#[test]
fn example_parses_to_the_expected_values() {
    let config = parse(EXAMPLE);
    let q = &config.queries[0];
    let filter = q.filter.as_ref();
    assert_eq!(
        filter.map(QueryFilter::written),
        Some(&json!({
            "type": "and",
            "predicates": [{"type": "dimension", "dimension": "mediaType", "value": "voice"}]
        }))
    );
    assert_eq!(filter.map(|f| f.requests().len()), Some(1));
    let mut expected = Config::builtin_default();
    expected.queries[0].filter = q.filter.clone();
    assert_eq!(config, expected);
    assert_eq!(q.name, "queues");
    assert_eq!(q.granularity, Granularity::Minutes(30));
    assert_eq!(q.time_zone, Tz::UTC);
    assert_eq!(q.settle_delay, Duration::from_secs(90));
    assert_eq!(q.refresh, Some(Duration::from_secs(300)));
    assert_eq!(q.group_by, ["queueId", "mediaType", "direction"]);
    assert_eq!(q.metrics.len(), 13);
    assert_eq!(q.metrics.last().map(String::as_str), Some("oServiceLevel"));
}

#[test]
fn builtin_default_is_the_example_without_filter() {
    let without_filter: String = EXAMPLE
        .lines()
        .filter(|line| !line.trim_start().starts_with("filter:"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(parse(&without_filter), Config::builtin_default());
    let default = Config::builtin_default();
    assert_eq!(default.queries.len(), 1);
    assert_eq!(default.queries[0].filter, None);
    assert_eq!(
        default.queries[0].to_string(),
        "queues (PT30M, UTC, settle 1m 30s, 13 metrics, refresh 5m)"
    );
}

#[test]
fn to_yaml_round_trips() {
    let mut configs = vec![parse(EXAMPLE), Config::builtin_default()];
    configs.push(parse(
        "queries:
  - name: daily.london
    granularity: P1D
    time_zone: Europe/London
    settle_delay: 0s
    metrics: [nOffered]
    filter:
      type: or
      clauses:
        - {type: and, predicates: [{type: dimension, dimension: queueId, value: '123'}]}
  - {name: '1.50', granularity: PT5M, metrics: [nOffered]}
  - {name: 'true', granularity: PT5M, metrics: [nOffered]}
  - {name: b, granularity: PT1H, time_zone: Asia/Kolkata, settle_delay: 1m 30s 250ms,
     refresh: 1h, metrics: [tHandle], group_by: [userId]}
",
    ));
    for config in configs {
        let text = match config.to_yaml() {
            Ok(text) => text,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(parse(&text), config, "{text}");
    }
}

#[test]
fn defaults_apply() {
    let config = parse(&one(""));
    let q = &config.queries[0];
    assert_eq!(q.time_zone, Tz::UTC);
    assert_eq!(q.settle_delay, DEFAULT_SETTLE_DELAY);
    assert_eq!(q.refresh, None);
    assert!(q.group_by.is_empty());
    assert_eq!(q.filter, None);
    // Explicit nulls mean "default" too.
    let nulls = parse(&one(
        ", time_zone: ~, settle_delay: ~, refresh: ~, group_by: ~, filter: ~",
    ));
    assert_eq!(nulls, config);
}

#[test]
fn accepts_edge_values() {
    type ReadBack = dyn Fn(&QueryConfig) -> bool;
    let cases: [(&str, &ReadBack); 9] = [
        (", settle_delay: 0s", &|q| q.settle_delay == Duration::ZERO),
        (", settle_delay: 1h", &|q| {
            q.settle_delay == Duration::from_secs(3600)
        }),
        (", settle_delay: 59m 59s", &|q| {
            q.settle_delay == Duration::from_secs(3599)
        }),
        (", refresh: 10s", &|q| {
            q.refresh == Some(Duration::from_secs(10))
        }),
        (", refresh: 1day", &|q| {
            q.refresh == Some(Duration::from_secs(86_400))
        }),
        (", time_zone: Europe/London", &|q| {
            q.time_zone.name() == "Europe/London"
        }),
        (", time_zone: America/Argentina/Buenos_Aires", &|q| {
            q.time_zone.name() == "America/Argentina/Buenos_Aires"
        }),
        (", time_zone: Etc/GMT+5", &|q| {
            q.time_zone.name() == "Etc/GMT+5"
        }),
        (", group_by: []", &|q| q.group_by.is_empty()),
    ];
    for (extra, read_back) in cases {
        let config = parse(&one(extra));
        assert!(
            read_back(&config.queries[0]),
            "{extra}: {:?}",
            config.queries[0]
        );
    }
    let config = parse(&one(
        ", group_by: [queueId, requestedRoutingSkillId, wrapUpCode, divisionId]",
    ));
    assert_eq!(
        config.queries[0].group_by,
        [
            "queueId",
            "requestedRoutingSkillId",
            "wrapUpCode",
            "divisionId"
        ]
    );
    // Filters are sent as written, in one request, unknown keys included.
    for (extra, sent) in [
        (
            ", filter: {type: or, clauses: [{type: and, predicates: [{type: dimension, dimension: queueId, value: x}]}]}",
            json!({"type": "or", "clauses": [{"type": "and", "predicates": [{"type": "dimension", "dimension": "queueId", "value": "x"}]}]}),
        ),
        (
            ", filter: {type: and, predicates: [{type: dimension, dimension: mediaType, operator: matches, value: voice}], clauses: []}",
            json!({"type": "and", "predicates": [{"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}], "clauses": []}),
        ),
        (
            ", filter: {type: and, predicates: [{}], somethingNew: true}",
            json!({"type": "and", "predicates": [{}], "somethingNew": true}),
        ),
    ] {
        let config = parse(&one(extra));
        let filter = config.queries[0].filter.as_ref().expect("a filter");
        assert_eq!(filter.requests().len(), 1, "{extra}");
        let json: serde_json::Value =
            serde_json::from_str(filter.requests()[0].json().get()).unwrap();
        assert_eq!(json, sent, "{extra}");
    }
    for name in ["a", "queues.voice", "team:a-b_c", "0", "A.B:C-D_E.123"] {
        let config = parse(&format!(
            "queries: [{{name: '{name}', granularity: PT15M, metrics: [nOffered]}}]"
        ));
        assert_eq!(config.queries[0].name, name);
    }
    for (text, granularity) in [
        ("PT24H", Granularity::Day),
        ("P1D", Granularity::Day),
        ("PT60M", Granularity::Minutes(60)),
        ("PT5M", Granularity::Minutes(5)),
        ("PT12H", Granularity::Minutes(720)),
    ] {
        let config = parse(&format!(
            "queries: [{{name: q, granularity: {text}, metrics: [nOffered]}}]"
        ));
        assert_eq!(config.queries[0].granularity, granularity);
    }
    let metrics = parse(&with_metrics(
        "[nOffered, tHandle, oServiceLevel, nOverSla, tAgentResponseTime, oMediaCount, nBlindTransferred]",
    ));
    assert_eq!(metrics.queries[0].metrics.len(), 7);
    // Several queries, in file order.
    let two = parse(
        "queries:\n  - {name: a, granularity: PT5M, metrics: [nOffered]}\n  - {name: b, granularity: P1D, metrics: [nOffered]}\n",
    );
    let names: Vec<&str> = two.queries.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

/// A malformed config and what its message must contain.
struct Case {
    yaml: String,
    /// `query "name"` or `queries[N]`, if the error is inside a query.
    query: Option<&'static str>,
    /// The field, as shown between backquotes, if any.
    field: Option<&'static str>,
    /// A fragment saying what was wrong or expected.
    expect: &'static str,
}

fn case(
    yaml: impl Into<String>,
    query: Option<&'static str>,
    field: Option<&'static str>,
    expect: &'static str,
) -> Case {
    Case {
        yaml: yaml.into(),
        query,
        field,
        expect,
    }
}

fn malformed() -> Vec<Case> {
    const Q1: Option<&str> = Some("query \"q1\"");
    const FIRST: Option<&str> = Some("queries[0]");
    vec![
        // The document as a whole.
        case("", None, None, "the file is empty"),
        case("# nothing but a comment\n", None, None, "the file is empty"),
        case(
            "queries: [",
            None,
            None,
            "did not find expected node content",
        ),
        case(
            "queries:\n  - name: q1\n   granularity: PT5M\n",
            None,
            None,
            "line",
        ),
        case(
            "- name: q1\n",
            None,
            None,
            "expected a mapping with a `queries` list",
        ),
        case(
            "just a string",
            None,
            None,
            "expected a mapping with a `queries` list",
        ),
        case(
            "{}",
            None,
            Some("queries"),
            "missing; expected a list of queries",
        ),
        case(
            "queries: ~",
            None,
            Some("queries"),
            "missing; expected a list of queries",
        ),
        case("queries: []", None, Some("queries"), "is empty"),
        case("queries: x", None, Some("queries"), "expected a list"),
        case(
            "querys: []",
            None,
            Some("querys"),
            "unknown key (did you mean `queries`?); expected one of `queries`, `observations`, `trunks`, `voice_quality`",
        ),
        case(
            "query: []",
            None,
            Some("query"),
            "(did you mean `queries`?)",
        ),
        case(one("") + "extra: 1\n", None, Some("extra"), "unknown key"),
        case(
            "queries: []\nqueries: []\n",
            None,
            Some("queries"),
            "appears twice",
        ),
        case(
            one("") + "---\n" + &one(""),
            None,
            None,
            "more than one document",
        ),
        // Shape of a query.
        case(
            "queries:\n  - queues\n",
            FIRST,
            None,
            "expected a query: a mapping",
        ),
        case(
            "queries:\n  - [name, q1]\n",
            FIRST,
            None,
            "expected a query: a mapping",
        ),
        case(
            one(", groupBy: [queueId]"),
            Q1,
            Some("groupBy"),
            "unknown key (did you mean `group_by`?); expected one of `name`",
        ),
        case(
            one(", settle-delay: 1m"),
            Q1,
            Some("settle-delay"),
            "(did you mean `settle_delay`?)",
        ),
        case(
            one(", filters: {}"),
            Q1,
            Some("filters"),
            "(did you mean `filter`?)",
        ),
        case(
            one(", colour: blue"),
            Q1,
            Some("colour"),
            "unknown key; expected one of",
        ),
        case(one(", timeZone: UTC"), Q1, Some("timeZone"), "unknown key"),
        case(
            "queries: [{granularity: PT5M, metrics: [nOffered], nme: q1}]",
            FIRST,
            Some("nme"),
            "unknown key",
        ),
        case(
            "queries: [{name: 'bad name', granularity: PT5M, metrics: [nOffered], x: 1}]",
            FIRST,
            Some("x"),
            "unknown key",
        ),
        case(
            "queries:\n  - name: q1\n    name: q2\n",
            FIRST,
            Some("name"),
            "appears twice",
        ),
        case(
            one(", filter: {type: and, predicates: [{a: !tag 1}]}"),
            Q1,
            Some("filter.predicates[0].a"),
            "invalid type",
        ),
        // Wrong types.
        case(
            "queries:\n  - {name: q1, granularity: PT5M, metrics: nOffered}\n  - just a string\n  - !tagged {name: x}\n  - {name: q1, name: q2}\n",
            Q1,
            Some("metrics"),
            "expected a list",
        ),
        case(
            with_metrics("nOffered"),
            Q1,
            Some("metrics"),
            "expected a list",
        ),
        case(
            with_metrics("[nOffered, [tHandle]]"),
            Q1,
            Some("metrics[1]"),
            "expected a string",
        ),
        case(
            with_metrics("{nOffered: 1}"),
            Q1,
            Some("metrics"),
            "expected a list",
        ),
        case(
            one(", group_by: queueId"),
            Q1,
            Some("group_by"),
            "expected a list",
        ),
        case(
            one(", group_by: [{queueId: 1}]"),
            Q1,
            Some("group_by[0]"),
            "expected a string",
        ),
        case(
            "queries: [{name: [q1], granularity: PT5M, metrics: [nOffered]}]",
            FIRST,
            Some("name"),
            "expected a string",
        ),
        case(
            one(", granularity: [PT5M]"),
            Q1,
            Some("granularity"),
            "appears twice",
        ),
        case(
            "queries: [{name: q1, granularity: {minutes: 5}, metrics: [nOffered]}]",
            Q1,
            Some("granularity"),
            "expected a string",
        ),
        case(
            one(", settle_delay: [90s]"),
            Q1,
            Some("settle_delay"),
            "expected a string",
        ),
        case(
            one(", time_zone: {name: UTC}"),
            Q1,
            Some("time_zone"),
            "expected a string",
        ),
        // Names.
        case(
            "queries: [{granularity: PT5M, metrics: [nOffered]}]",
            FIRST,
            Some("name"),
            "missing; every query needs a unique name",
        ),
        case(
            "queries: [{name: '', granularity: PT5M, metrics: [nOffered]}]",
            FIRST,
            Some("name"),
            "\"\" is not a valid name",
        ),
        case(
            "queries: [{name: 'my queue', granularity: PT5M, metrics: [nOffered]}]",
            FIRST,
            Some("name"),
            "letters, digits",
        ),
        case(
            "queries: [{name: a/b, granularity: PT5M, metrics: [nOffered]}]",
            FIRST,
            Some("name"),
            "not a valid name",
        ),
        case(
            "queries: [{name: queüe, granularity: PT5M, metrics: [nOffered]}]",
            FIRST,
            Some("name"),
            "not a valid name",
        ),
        case(
            "queries: [{name: 'a\"b', granularity: PT5M, metrics: [nOffered]}]",
            FIRST,
            Some("name"),
            "not a valid name",
        ),
        case(
            "queries:\n  - {name: q1, granularity: PT5M, metrics: [nOffered]}\n  - {name: q2, granularity: PT5M, metrics: [nOffered]}\n  - {name: q1, granularity: P1D, metrics: [tHandle]}\n",
            Some("queries[2]"),
            Some("name"),
            "\"q1\" is already the name of queries[0]",
        ),
        // Errors in a later query name that query.
        case(
            "queries:\n  - {name: q1, granularity: PT5M, metrics: [nOffered]}\n  - {name: second, granularity: PT7M, metrics: [nOffered]}\n",
            Some("query \"second\""),
            Some("granularity"),
            "does not tile a day",
        ),
        case(
            "queries:\n  - {name: q1, granularity: PT5M, metrics: [nOffered]}\n  - {granularity: PT5M, metrics: [nOffered], bogus: 1}\n",
            Some("queries[1]"),
            Some("bogus"),
            "unknown key",
        ),
        // Granularity.
        case(
            "queries: [{name: q1, metrics: [nOffered]}]",
            Q1,
            Some("granularity"),
            "missing; expected an ISO-8601",
        ),
        case(
            one(", granularity: PT7M").replace("granularity: PT30M, ", ""),
            Q1,
            Some("granularity"),
            "does not tile a day",
        ),
        case(
            "queries: [{name: q1, granularity: PT1M, metrics: [nOffered]}]",
            Q1,
            Some("granularity"),
            "too fine",
        ),
        case(
            "queries: [{name: q1, granularity: P2D, metrics: [nOffered]}]",
            Q1,
            Some("granularity"),
            "longer than a day",
        ),
        case(
            "queries: [{name: q1, granularity: P1W, metrics: [nOffered]}]",
            Q1,
            Some("granularity"),
            "longer than a day",
        ),
        case(
            "queries: [{name: q1, granularity: 30m, metrics: [nOffered]}]",
            Q1,
            Some("granularity"),
            "not an ISO-8601 duration",
        ),
        case(
            "queries: [{name: q1, granularity: 30, metrics: [nOffered]}]",
            Q1,
            Some("granularity"),
            "not an ISO-8601 duration",
        ),
        case(
            "queries: [{name: q1, granularity: '', metrics: [nOffered]}]",
            Q1,
            Some("granularity"),
            "allowed: P1D",
        ),
        // Time zone.
        case(
            one(", time_zone: Europe/Londn"),
            Q1,
            Some("time_zone"),
            "did you mean \"Europe/London\"?",
        ),
        case(
            one(", time_zone: utc"),
            Q1,
            Some("time_zone"),
            "did you mean \"UTC\"?",
        ),
        case(
            one(", time_zone: europe/paris"),
            Q1,
            Some("time_zone"),
            "did you mean \"Europe/Paris\"?",
        ),
        case(
            one(", time_zone: '+01:00'"),
            Q1,
            Some("time_zone"),
            "not an IANA time zone",
        ),
        case(
            one(", time_zone: Mars/Olympus_Mons"),
            Q1,
            Some("time_zone"),
            "such as \"UTC\"",
        ),
        case(
            one(", time_zone: ''"),
            Q1,
            Some("time_zone"),
            "not an IANA time zone",
        ),
        // Durations.
        case(
            one(", settle_delay: 90"),
            Q1,
            Some("settle_delay"),
            "not a duration",
        ),
        case(
            one(", settle_delay: soon"),
            Q1,
            Some("settle_delay"),
            "such as \"90s\"",
        ),
        case(
            one(", settle_delay: -5s"),
            Q1,
            Some("settle_delay"),
            "not a duration",
        ),
        case(
            one(", settle_delay: 2h"),
            Q1,
            Some("settle_delay"),
            "longer than the 1h maximum",
        ),
        case(
            one(", settle_delay: 1h 1s"),
            Q1,
            Some("settle_delay"),
            "1h maximum",
        ),
        case(
            one(", refresh: 5s"),
            Q1,
            Some("refresh"),
            "shorter than the 10s minimum",
        ),
        case(
            one(", refresh: 9s 999ms"),
            Q1,
            Some("refresh"),
            "10s minimum",
        ),
        case(one(", refresh: 0s"), Q1, Some("refresh"), "10s minimum"),
        case(
            one(", refresh: often"),
            Q1,
            Some("refresh"),
            "such as \"5m\"",
        ),
        case(
            one(", refresh: 99999999999999999999999y"),
            Q1,
            Some("refresh"),
            "not a duration",
        ),
        // group_by.
        case(
            one(", group_by: [queue_id]"),
            Q1,
            Some("group_by[0]"),
            "not a Genesys dimension name",
        ),
        case(
            one(", group_by: [queueId, QueueId]"),
            Q1,
            Some("group_by[1]"),
            "camelCase",
        ),
        case(
            one(", group_by: ['']"),
            Q1,
            Some("group_by[0]"),
            "not a Genesys dimension name",
        ),
        case(
            one(", group_by: [queue-id]"),
            Q1,
            Some("group_by[0]"),
            "camelCase",
        ),
        case(
            one(", group_by: [1queue]"),
            Q1,
            Some("group_by[0]"),
            "camelCase",
        ),
        case(
            one(", group_by: [queueId, mediaType, queueId]"),
            Q1,
            Some("group_by[2]"),
            "listed twice (also group_by[0])",
        ),
        case(
            one(", group_by: [queueId, queueID], allow_unlisted: [queueID]"),
            Q1,
            Some("group_by[1]"),
            "would both become the label `queue_id`",
        ),
        // Names Genesys would refuse on every poll.
        case(
            with_metrics("[nOffered, nOfered]"),
            Q1,
            Some("metrics[1]"),
            "\"nOfered\" is not a conversation aggregate metric (did you mean \"nOffered\"?); Genesys would refuse every poll",
        ),
        case(
            one(", group_by: [queueID]"),
            Q1,
            Some("group_by[0]"),
            "\"queueID\" is not a conversation aggregate dimension (did you mean \"queueId\"?)",
        ),
        case(
            with_metrics("[nOffered, oWaiting]"),
            Q1,
            Some("metrics[1]"),
            "\"oWaiting\" is a queue observation metric (real time, per queue): put it in an `observations` entry",
        ),
        case(
            with_metrics("[tSomethingNew]"),
            Q1,
            Some("metrics[0]"),
            "list it under `allow_unlisted`",
        ),
        case(
            one(
                ", filter: {type: and, predicates: [{type: dimension, dimension: mediatype, value: voice}]}",
            ),
            Q1,
            Some("filter.predicates[0].dimension"),
            "(did you mean \"mediaType\"?)",
        ),
        case(
            one(
                ", filter: {type: and, clauses: [{type: or, predicates: [{type: metric, metric: tHandel, range: {gt: 1}}]}]}",
            ),
            Q1,
            Some("filter.clauses[0].predicates[0].metric"),
            "(did you mean \"tHandle\"?)",
        ),
        case(
            one(
                ", filter: {type: and, clauses: [{type: or, predicates: [{dimension: mediaType, value: voice}], clauses: [{type: and, predicates: [{dimension: queueId, value: x}]}]}]}",
            ),
            Q1,
            Some("filter.clauses[0].clauses"),
            "a clause holds only predicates: Genesys nests a filter two levels at most",
        ),
        case(
            one(", allow_unlisted: [nOffered, nOffered]"),
            Q1,
            Some("allow_unlisted[1]"),
            "listed twice (also allow_unlisted[0])",
        ),
        case(
            one(", allow_unlisted: [\"n-new\"]"),
            Q1,
            Some("allow_unlisted[0]"),
            "is not spelt like a Genesys metric",
        ),
        case(
            one(", max_predicates_per_request: 0"),
            Q1,
            Some("max_predicates_per_request"),
            "0 is out of range; expected 1 to 1000 (default 100)",
        ),
        case(
            one(", max_predicates_per_request: 1001"),
            Q1,
            Some("max_predicates_per_request"),
            "1001 is out of range; expected 1 to 1000",
        ),
        case(
            one(", max_predicates_per_request: -5"),
            Q1,
            Some("max_predicates_per_request"),
            "invalid type: integer `-5`, expected u64",
        ),
        case(
            one(", group_by: [queueId, queueName]"),
            Q1,
            Some("group_by[1]"),
            "label `queue_name`, which the exporter adds itself beside `queue_id`",
        ),
        case(
            one(", group_by: [mediaType, interval]"),
            Q1,
            Some("group_by[1]"),
            "reserved: query, interval, queue_name",
        ),
        case(
            one(", group_by: [query]"),
            Q1,
            Some("group_by[0]"),
            "label `query`",
        ),
        // metrics.
        case(
            "queries: [{name: q1, granularity: PT5M}]",
            Q1,
            Some("metrics"),
            "missing; expected a list of Genesys metric names",
        ),
        case(
            "queries: [{name: q1, granularity: PT5M, metrics: ~}]",
            Q1,
            Some("metrics"),
            "missing",
        ),
        case(with_metrics("[]"), Q1, Some("metrics"), "is empty"),
        case(
            with_metrics("[offered]"),
            Q1,
            Some("metrics[0]"),
            "not a Genesys metric name",
        ),
        case(
            with_metrics("[nOffered, NOffered]"),
            Q1,
            Some("metrics[1]"),
            "n (count), t (timer) or o (observation)",
        ),
        case(
            with_metrics("[nOffered, noffered]"),
            Q1,
            Some("metrics[1]"),
            "followed by a capital letter",
        ),
        case(
            with_metrics("[n]"),
            Q1,
            Some("metrics[0]"),
            "not a Genesys metric name",
        ),
        case(
            with_metrics("[xOffered]"),
            Q1,
            Some("metrics[0]"),
            "not a Genesys metric name",
        ),
        case(
            with_metrics("[n_offered]"),
            Q1,
            Some("metrics[0]"),
            "not a Genesys metric name",
        ),
        case(
            with_metrics("[nOffered, 'tHandle ']"),
            Q1,
            Some("metrics[1]"),
            "not a Genesys metric name",
        ),
        case(
            with_metrics("[tHandle, nOffered, tHandle]"),
            Q1,
            Some("metrics[2]"),
            "listed twice (also metrics[0])",
        ),
        case(
            with_metrics("[nOverSla, nOverSLA], allow_unlisted: [nOverSLA]"),
            Q1,
            Some("metrics[1]"),
            "would both become",
        ),
        // filter.
        case(
            one(", filter: voice"),
            Q1,
            Some("filter"),
            "found a string; expected a mapping with `type: and` or `type: or` and a `predicates` list and/or a `clauses` list",
        ),
        case(one(", filter: [a]"), Q1, Some("filter"), "found a list"),
        case(
            one(", filter: {predicates: [{type: dimension}]}"),
            Q1,
            Some("filter.type"),
            "missing; expected `and` or `or`",
        ),
        case(
            one(", filter: {type: xor, predicates: [{}]}"),
            Q1,
            Some("filter.type"),
            "\"xor\" is not `and` or `or`",
        ),
        case(
            one(", filter: {type: AND, predicates: [{}]}"),
            Q1,
            Some("filter.type"),
            "not `and` or `or`",
        ),
        case(
            one(", filter: {type: 1, predicates: [{}]}"),
            Q1,
            Some("filter.type"),
            "1 is not `and` or `or`",
        ),
        case(
            one(", filter: {type: and}"),
            Q1,
            Some("filter"),
            "has no conditions",
        ),
        case(
            one(", filter: {type: and, predicates: []}"),
            Q1,
            Some("filter"),
            "has empty lists",
        ),
        case(
            one(", filter: {type: and, predicates: [], clauses: []}"),
            Q1,
            Some("filter"),
            "has empty lists",
        ),
        case(
            one(", filter: {type: and, predicates: {type: dimension}}"),
            Q1,
            Some("filter.predicates"),
            "found a mapping; expected a list of predicates",
        ),
        case(
            one(", filter: {type: and, predicates: [mediaType]}"),
            Q1,
            Some("filter.predicates[0]"),
            "found a string; expected a predicate mapping",
        ),
        case(
            one(", filter: {type: and, clauses: 5}"),
            Q1,
            Some("filter.clauses"),
            "found a number; expected a list of clauses",
        ),
        case(
            one(", filter: {type: and, clauses: [{type: or}]}"),
            Q1,
            Some("filter.clauses[0]"),
            "has no conditions; expected a `predicates` list",
        ),
        case(
            one(
                ", filter: {type: and, clauses: [{type: or, predicates: [{}]}, {type: nand, predicates: [{}]}]}",
            ),
            Q1,
            Some("filter.clauses[1].type"),
            "not `and` or `or`",
        ),
        case(
            one(", filter: {type: and, clauses: [[]]}"),
            Q1,
            Some("filter.clauses[0]"),
            "found a list; expected a mapping with `type: and` or `type: or` and a `predicates` list, e.g.",
        ),
        case(
            one(", filter: {type: and, clauses: [{type: or, predicates: [7]}]}"),
            Q1,
            Some("filter.clauses[0].predicates[0]"),
            "found a number",
        ),
    ]
}

#[test]
fn malformed_configs_name_file_query_and_field() {
    let cases = malformed();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    for Case {
        yaml,
        query,
        field,
        expect,
    } in cases
    {
        let message = error(&yaml).to_string();
        let context = format!("\n  yaml: {yaml:?}\n  message: {message}");
        assert!(message.starts_with("test.yml:"), "file not named:{context}");
        assert!(!message.contains('\n'), "not one line:{context}");
        if let Some(query) = query {
            assert!(
                message.contains(&format!(": {query}: ")),
                "query {query} not named:{context}"
            );
        } else {
            assert!(!message.contains("query \""), "unexpected query:{context}");
        }
        if let Some(field) = field {
            assert!(
                message.contains(&format!("field `{field}`: ")),
                "field {field} not named:{context}"
            );
        }
        assert!(message.contains(expect), "missing {expect:?}:{context}");
    }
}

#[test]
fn yaml_errors_keep_line_and_column() {
    let text = "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    colour: blue\n";
    let e = error(text);
    assert!(
        matches!(
            e,
            ConfigError::Syntax {
                location: Some((5, _)),
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("test.yml:5:"), "{e}");
    let e = error("queries:\n  - name: q1\n    granularity: PT30M\n    metrics: nOffered\n");
    assert!(e.to_string().starts_with("test.yml:4:"), "{e}");
    let e = error("queries:\n  - name: q1\n   granularity: PT5M\n");
    assert!(
        matches!(
            e,
            ConfigError::Syntax {
                location: Some(_),
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn validation_errors_are_structured() {
    match error(&one(", time_zone: Nowhere/Special")) {
        ConfigError::Invalid {
            origin,
            query,
            field,
            message,
        } => {
            assert_eq!(origin, ORIGIN);
            assert_eq!(query.as_deref(), Some("query \"q1\""));
            assert_eq!(field.as_deref(), Some("time_zone"));
            assert!(message.contains("Nowhere/Special"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_panic_on_mangled_input() {
    // Every prefix of the example, and the example with each character removed or
    // replaced: whatever happens, no panic, and errors stay one line naming the file.
    let chars: Vec<char> = EXAMPLE.chars().collect();
    let mut variants = Vec::new();
    for i in 0..chars.len() {
        variants.push(chars[..i].iter().collect::<String>());
        let mut removed = chars.clone();
        removed.remove(i);
        variants.push(removed.into_iter().collect());
        for replacement in ['"', '[', ':', '\t'] {
            let mut replaced = chars.clone();
            replaced[i] = replacement;
            variants.push(replaced.into_iter().collect());
        }
    }
    let mut accepted = 0;
    for text in variants {
        match Config::from_yaml(&text, ORIGIN) {
            Ok(_) => accepted += 1,
            Err(e) => {
                let message = e.to_string();
                assert!(message.starts_with("test.yml"), "{message}");
                assert!(!message.contains('\n'), "{message}");
            }
        }
    }
    assert!(accepted > 0);
}

#[test]
fn closest_zone_suggestions() {
    assert_eq!(closest_zone("Europe/Londn"), Some("Europe/London"));
    assert_eq!(closest_zone("asia/kolkata"), Some("Asia/Kolkata"));
    assert_eq!(closest_zone("Asia/Calcuta"), Some("Asia/Calcutta"));
    assert_eq!(closest_zone("Nowhere/Special"), None);
    assert_eq!(closest_zone(""), None);
    assert_eq!(closest_zone("utx"), Some("UTC"));
    assert_eq!(closest_zone("gb"), Some("GB"));
    for far_fetched in ["5", "x", "EU", "+01:00"] {
        assert_eq!(closest_zone(far_fetched), None, "{far_fetched}");
    }
}

#[test]
fn load_reads_a_file() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    };
    let path = dir.path().join("queries.yml");
    if let Err(e) = std::fs::write(&path, EXAMPLE) {
        panic!("{e}");
    }
    match Config::load(&path) {
        Ok(config) => assert_eq!(config, parse(EXAMPLE)),
        Err(e) => panic!("{e}"),
    }
    // Errors in the file name the file by its path.
    let bad = dir.path().join("bad.yml");
    if let Err(e) = std::fs::write(&bad, one(", refresh: 1s")) {
        panic!("{e}");
    }
    let message = match Config::load(&bad) {
        Ok(c) => panic!("accepted {c:?}"),
        Err(e) => e.to_string(),
    };
    let expected = format!("{}: query \"q1\": field `refresh`: ", bad.display());
    assert!(message.starts_with(&expected), "{message}");
}

#[test]
fn load_reports_unreadable_files() {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    };
    let missing = dir.path().join("missing.yml");
    let e = match Config::load(&missing) {
        Ok(c) => panic!("accepted {c:?}"),
        Err(e) => e,
    };
    assert!(matches!(e, ConfigError::Read { .. }), "{e:?}");
    let message = e.to_string();
    assert!(message.starts_with("cannot read config file "), "{message}");
    assert!(
        message.contains(&missing.display().to_string()),
        "{message}"
    );
    assert!(!message.contains('\n'));

    // A directory.
    let message = match Config::load(dir.path()) {
        Ok(c) => panic!("accepted {c:?}"),
        Err(e) => e.to_string(),
    };
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );

    // Not UTF-8.
    let binary = dir.path().join("binary.yml");
    if let Err(e) = std::fs::write(&binary, [0x71, 0xff, 0xfe, 0x00]) {
        panic!("{e}");
    }
    let message = match Config::load(&binary) {
        Ok(c) => panic!("accepted {c:?}"),
        Err(e) => e.to_string(),
    };
    assert!(message.contains("not UTF-8"), "{message}");

    // Far too large.
    let large = dir.path().join("large.yml");
    let filler = vec![b'#'; (MAX_FILE_BYTES + 1) as usize];
    if let Err(e) = std::fs::write(&large, filler) {
        panic!("{e}");
    }
    let e = match Config::load(&large) {
        Ok(c) => panic!("accepted {c:?}"),
        Err(e) => e,
    };
    assert!(matches!(e, ConfigError::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("large.yml"), "{e}");
}

/// Names newer than the catalogue pass when listed under `allow_unlisted`, and are
/// noted at start-up; a listed name that is in the catalogue is noted as not needed.
#[test]
fn allow_unlisted_lets_new_names_through_with_notes() {
    let config = parse(&with_metrics(
        "[nOffered, tSomethingNew], group_by: [queueId, newDimensionId], \
         allow_unlisted: [tSomethingNew, newDimensionId, nOffered], \
         max_predicates_per_request: 250",
    ));
    let query = &config.queries[0];
    assert_eq!(query.metrics, ["nOffered", "tSomethingNew"]);
    let notes = query.allow_unlisted_notes();
    assert_eq!(notes.len(), 3);
    assert!(notes[0].contains("\"tSomethingNew\"") && notes[0].contains("unchecked"));
    assert!(notes[1].contains("\"newDimensionId\"") && notes[1].contains("unchecked"));
    assert!(notes[2].contains("\"nOffered\"") && notes[2].contains("needs no"));
    assert_eq!(parse(&config.to_yaml().unwrap_or_default()), config);
    assert!(
        Config::builtin_default().queries[0]
            .allow_unlisted_notes()
            .is_empty()
    );
}

/// A config with an `or` list over `queues` queue ids, at most `cap` predicates a
/// request.
fn many_queues_capped(queues: usize, group_by: &str, cap: usize) -> String {
    many_queues(queues, group_by).replace(
        "    filter:",
        &format!("    max_predicates_per_request: {cap}\n    filter:"),
    )
}

/// A config with an `or` list over `queues` queue ids.
fn many_queues(queues: usize, group_by: &str) -> String {
    let predicates: Vec<String> = (0..queues)
            .map(|i| {
                format!(
                    "{{type: dimension, dimension: queueId, operator: matches, value: {i:08}-0000-4000-8000-000000000000}}"
                )
            })
            .collect();
    format!(
        "queries:\n  - name: many\n    granularity: PT30M\n    metrics: [nOffered]\n    group_by: {group_by}\n    filter: {{type: or, predicates: [{}]}}\n",
        predicates.join(", ")
    )
}

/// A filter with more predicates than one request may carry is split over as few
/// requests as carry them when the query groups by its dimension, and each request is
/// built from one share.
#[test]
fn a_filter_too_large_for_one_request_is_split() {
    let interval = Interval::parse_iso8601("2026-11-25T12:00:00Z/2026-11-25T12:30:00Z")
        .unwrap_or_else(|e| panic!("{e}"));
    let requests = |yaml: &str| parse(yaml).queries[0].requests(&interval).len();
    assert_eq!(requests(&many_queues(100, "[queueId]")), 1);
    assert_eq!(requests(&many_queues(250, "[queueId]")), 3);
    assert_eq!(requests(&many_queues_capped(250, "[queueId]", 250)), 1);
    let split = parse(&many_queues_capped(12_000, "[queueId, mediaType]", 1000));
    let query = &split.queries[0];
    assert_eq!(query.max_predicates_per_request, 1000);
    let filter = query.filter.as_ref().unwrap_or_else(|| panic!("no filter"));
    assert_eq!(filter.split_on(), Some("queueId"));
    let requests = query.requests(&interval);
    assert_eq!(requests.len(), 12);
    let mut values = 0;
    for request in &requests {
        let body = serde_json::to_vec(request).unwrap_or_default();
        assert!(
            body.len() <= crate::config::filter::MAX_REQUEST_BYTES,
            "{}",
            body.len()
        );
        let sent: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(
            sent["interval"],
            "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z"
        );
        assert_eq!(sent["groupBy"], json!(["queueId", "mediaType"]));
        values += sent["filter"]["predicates"].as_array().map_or(0, Vec::len);
    }
    assert_eq!(values, 12_000);
    // Shown back as written.
    let text = split.to_yaml().unwrap_or_default();
    assert_eq!(parse(&text), split);
}

/// A filter too large for one request that cannot be split exactly is refused at
/// start-up, naming the file, the query, the field and why.
#[test]
fn a_filter_too_large_that_cannot_be_split_exactly_is_refused() {
    let message = Config::from_yaml(&many_queues(8_000, "[mediaType]"), "big.yaml")
        .map(|c| format!("accepted: {} queries", c.queries.len()))
        .unwrap_or_else(|e| e.to_string());
    assert!(
        message.starts_with("big.yaml: query \"many\": field `filter.predicates`: "),
        "{message}"
    );
    assert!(
        message.contains("over the 512000 Genesys takes"),
        "{message}"
    );
    assert!(
            message.contains("queueId is not in group_by, so the answers of split requests could not be merged exactly"),
            "{message}"
        );
    assert!(!message.contains('\n'), "{message}");
}

/// A query names its source with `source:`; without one it is a conversations query,
/// as before there were sources, and `to_yaml` writes the key only when it is not the
/// default.
#[test]
fn a_query_names_its_source_and_conversations_is_the_default() {
    let config = parse(
        "queries:
  - {name: c, granularity: PT30M, metrics: [nOffered]}
  - {name: ivr, source: flows, granularity: PT30M, group_by: [flowId, flowOutcomeId],
     metrics: [nFlow, tFlowExit, nFlowOutcomeFailed],
     filter: {type: and, predicates: [{dimension: flowType, value: inboundcall}]}}
  - {name: agents, source: users, granularity: PT30M, group_by: [userId],
     metrics: [tAgentRoutingStatus, tOrganizationPresence]}
",
    );
    let segments: Vec<&str> = config.queries.iter().map(|q| q.source.segment).collect();
    assert_eq!(segments, ["conversations", "flows", "users"]);
    let text = config.to_yaml().unwrap_or_default();
    assert_eq!(text.matches("source:").count(), 2, "{text}");
    assert_eq!(parse(&text), config, "{text}");
    // The names a query needs read: its group_by and its named qualifiers' ids.
    let named: Vec<&str> = named_dimensions(&config.queries[2..], &[], &[], &[]).collect();
    assert_eq!(named, ["userId", "presenceId"]);
    let served: Vec<String> = served_entries(&config).map(|(_, what)| what).collect();
    assert_eq!(served[1], "flows, PT30M");
}

/// Names are checked against the query's own source: a flows dimension is no
/// conversations one, a conversations metric is no users one; an unknown source is
/// refused with a suggestion and the list; a metric of another source says which.
#[test]
fn a_dimension_named_like_a_name_label_clashes_only_beside_the_id_it_names() {
    let flows = |group_by: &str| {
        format!(
            "queries:\n  - {{name: q, source: flows, granularity: PT30M, metrics: [nFlow], group_by: {group_by}}}\n"
        )
    };
    let config = parse(&flows("[flowName, flowType]"));
    assert_eq!(config.queries[0].group_by, ["flowName", "flowType"]);
    let message = error(&flows("[flowId, flowName]")).to_string();
    assert!(
        message.contains(
            "field `group_by[1]`: \"flowName\" would become the label `flow_name`, which the exporter adds itself beside `flow_id`"
        ),
        "{message}"
    );
    let message = error(&flows("[flowName, interval]")).to_string();
    assert!(
        message.contains("the label `interval`, which the exporter adds itself on every series"),
        "{message}"
    );
}

#[test]
fn names_are_checked_against_the_querys_source() {
    let cases = [
        (
            "queries:\n  - {name: q, source: flow, granularity: PT30M, metrics: [nFlow]}\n",
            "field `source`: \"flow\" is not an analytics aggregates source (did you mean \"flows\"?); expected one of conversations, users, flows, bots, actions, surveys, evaluations, transcripts, flowexecutions, ratelimits",
        ),
        (
            "queries:\n  - {name: q, granularity: PT30M, metrics: [nOffered, nFlow]}\n",
            "field `metrics[1]`: \"nFlow\" is a flows metric, not a conversations one: add `source: flows`",
        ),
        (
            "queries:\n  - {name: q, source: users, granularity: PT30M, metrics: [nOffered]}\n",
            "field `metrics[0]`: \"nOffered\" is a conversations metric, not a users one: add `source: conversations`",
        ),
        (
            "queries:\n  - {name: q, source: flows, granularity: PT30M, metrics: [nFlow], group_by: [flowID]}\n",
            "field `group_by[0]`: \"flowID\" is not a flow aggregate dimension (did you mean \"flowId\"?)",
        ),
        (
            "queries:\n  - {name: q, source: users, granularity: PT30M, metrics: [tSystemPresence],\n     filter: {type: or, predicates: [{dimension: queueId, value: q1}]}}\n",
            "field `filter.predicates[0].dimension`: \"queueId\" is not a user aggregate dimension",
        ),
        (
            "queries:\n  - {name: q, source: surveys, granularity: PT30M, metrics: [nSurveysSnt]}\n",
            "field `metrics[0]`: \"nSurveysSnt\" is not a survey aggregate metric (did you mean \"nSurveysSent\"?)",
        ),
        (
            "queries:\n  - {name: q, source: bots, granularity: PT30M, metrics: [oWaiting]}\n",
            "\"oWaiting\" is a queue observation metric",
        ),
    ];
    for (yaml, expected) in cases {
        let message = error(yaml).to_string();
        assert!(
            message.contains(expected),
            "{message}\nexpected: {expected}"
        );
        assert!(message.starts_with("test.yml: query \"q\": "), "{message}");
    }
    // `allow_unlisted` works per source: a name new to flows goes through there.
    let allowed = parse(
        "queries:\n  - {name: q, source: flows, granularity: PT30M, metrics: [nFlowNew], allow_unlisted: [nFlowNew]}\n",
    );
    assert_eq!(allowed.queries[0].metrics, ["nFlowNew"]);
    let notes = parse(
        "queries:\n  - {name: q, source: flows, granularity: PT30M, metrics: [nFlow], allow_unlisted: [nFlow, flowId]}\n",
    )
    .queries[0]
        .allow_unlisted_notes();
    assert!(
        notes
            .iter()
            .all(|n| n.contains("needs no `allow_unlisted` entry")),
        "{notes:?}"
    );
}

/// User aggregates take at most 100 `userId` predicates a request: a users query
/// filtering 250 users is sent as 3 requests even when its own cap is higher.
#[test]
fn a_sources_predicate_cap_splits_its_filters() {
    let interval = Interval::parse_iso8601("2026-11-25T12:00:00Z/2026-11-25T12:30:00Z")
        .unwrap_or_else(|e| panic!("{e}"));
    let users = |count: usize| {
        let predicates: Vec<String> = (0..count)
            .map(|i| format!("{{dimension: userId, value: {i:08}-0000-4000-8000-000000000000}}"))
            .collect();
        format!(
            "queries:\n  - name: agents\n    source: users\n    granularity: PT30M\n    group_by: [userId]\n    metrics: [tAgentRoutingStatus]\n    max_predicates_per_request: 1000\n    filter: {{type: or, predicates: [{}]}}\n",
            predicates.join(", ")
        )
    };
    let config = parse(&users(250));
    let requests = config.queries[0].requests(&interval);
    assert_eq!(requests.len(), 3);
    for request in &requests {
        let sent: serde_json::Value =
            serde_json::from_slice(&serde_json::to_vec(request).unwrap_or_default())
                .unwrap_or_default();
        let count = sent["filter"]["predicates"].as_array().map_or(0, Vec::len);
        assert!(count <= 100, "{count}");
    }
    assert_eq!(parse(&users(100)).queries[0].requests(&interval).len(), 1);
    // The query's own cap is kept as written.
    assert_eq!(config.queries[0].max_predicates_per_request, 1000);
    assert_eq!(parse(&config.to_yaml().unwrap_or_default()), config);
    // A filter over too many users that cannot be split says which cap it hit.
    let ungrouped = users(250).replace("    group_by: [userId]\n", "");
    let message = error(&ungrouped).to_string();
    assert!(
        message.contains("has 250 predicates, over the 100")
            && message
                .contains("(the users source takes at most 100 predicates a request on userId)"),
        "{message}"
    );
    // Conversations have no such cap: 250 queues at 1000 a request are one.
    assert_eq!(
        parse(&many_queues_capped(250, "[queueId]", 1000)).queries[0]
            .requests(&interval)
            .len(),
        1
    );
}

/// The demo runs a query of every source, as the plan lists them.
#[test]
fn the_demo_runs_a_query_of_every_source() {
    let demo = Config::demo();
    let shown: Vec<(&str, &str, String, String)> = demo
        .queries
        .iter()
        .map(|q| {
            (
                q.name.as_str(),
                q.source.segment,
                q.group_by.join(","),
                q.metrics.join(","),
            )
        })
        .collect();
    let expected = [
        (
            "agents_time",
            "users",
            "userId",
            "tAgentRoutingStatus,tSystemPresence,tOrganizationPresence",
        ),
        (
            "ivr",
            "flows",
            "flowId,flowOutcomeId",
            "nFlow,tFlow,tFlowDisconnect,tFlowExit,nFlowOutcome,nFlowOutcomeFailed,tFlowOutcome",
        ),
        (
            "bots",
            "bots",
            "botName",
            "nBotSessions,nBotSessionTurns,tBotSession,tBotRecognitionFailure,tBotExit,tBotDisconnect",
        ),
        (
            "data_actions",
            "actions",
            "actionName,errorType",
            "tTotalExecution",
        ),
        (
            "surveys",
            "surveys",
            "queueId",
            "nSurveysSent,nSurveyResponses,nSurveyNpsResponses,nSurveyNpsPromoters,nSurveyNpsDetractors,oSurveyTotalScore",
        ),
        (
            "evaluations",
            "evaluations",
            "queueId",
            "nEvaluations,oTotalScore,oTotalCriticalScore",
        ),
        (
            "transcripts",
            "transcripts",
            "queueId",
            "nSpeechTextAnalyzedConversations,oSentimentScore,tAgentSpeech,tCustomerSpeech,tSilence,tOverTalkSpeech",
        ),
        (
            "flow_executions",
            "flowexecutions",
            "flowId",
            "nFlowExecutions",
        ),
        (
            "rate_limits",
            "ratelimits",
            "limitName,namespace",
            "oRateLimitRecorded",
        ),
    ];
    assert_eq!(shown.len(), 2 + expected.len());
    for (got, want) in shown[2..].iter().zip(expected) {
        assert_eq!((got.0, got.1, got.2.as_str(), got.3.as_str()), want);
    }
    for query in &demo.queries[2..] {
        assert_eq!(
            query.granularity,
            Granularity::Minutes(30),
            "{}",
            query.name
        );
        assert_eq!(query.period, Period::Completed, "{}", query.name);
    }
    // What the demo runs is a config a user could write: it reads back the same.
    assert_eq!(parse(&demo.to_yaml().unwrap_or_default()), demo);
}
