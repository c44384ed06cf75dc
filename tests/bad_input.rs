//! Bad input refused at start-up, through the real binary: malformed configs, bad flag
//! values and unusable secret files. Every case must end the process with exit status 2
//! (bad input: not a panic, not 1 "cannot run") and a message that names what to fix:
//! the file, the query and the field or flag, where they apply.

mod common;

use std::path::Path;

use common::ExporterRun;

/// How a case runs the exporter.
#[derive(Clone, Copy)]
enum Mode {
    /// `--demo`: no credentials needed, so config and flag errors are reached first.
    Demo,
    /// Against Genesys (never reached: start-up fails before), with `GENESYS_CLIENT_ID`
    /// and `GENESYS_CLIENT_SECRET` set unless the case's flags name files instead.
    Real,
    /// Against Genesys without any credentials.
    NoCredentials,
}

/// One malformed input and what its message must contain.
struct Case {
    /// Shown when the case fails.
    what: &'static str,
    mode: Mode,
    /// Written to `config.yaml` in the case's directory and passed with `--config.file`.
    config: Option<&'static str>,
    /// More flags; `{dir}` stands for the case's directory (secret files live there).
    args: &'static [&'static str],
    /// Environment variables; `{dir}` as above.
    env: &'static [(&'static str, &'static str)],
    /// The file the message must name (`{dir}` as above), if any.
    file: Option<&'static str>,
    /// How the message must name the query (`query "q1"` or `queries[1]`), if any.
    query: Option<&'static str>,
    /// The field (`` field `time_zone` ``) or flag (`--web.listen-address`) it must name.
    field: Option<&'static str>,
    /// What else it must say: the problem, a suggestion.
    says: &'static [&'static str],
}

const CONFIG: &str = "{dir}/config.yaml";

/// A case with a config file, run in demo mode, whose message names the config file.
fn config(
    what: &'static str,
    yaml: &'static str,
    query: Option<&'static str>,
    field: Option<&'static str>,
    says: &'static [&'static str],
) -> Case {
    Case {
        what,
        mode: Mode::Demo,
        config: Some(yaml),
        args: &[],
        env: &[],
        file: Some(CONFIG),
        query,
        field,
        says,
    }
}

/// A case of flags (and environment variables) alone.
fn flags(
    what: &'static str,
    mode: Mode,
    args: &'static [&'static str],
    field: &'static str,
    says: &'static [&'static str],
) -> Case {
    Case {
        what,
        mode,
        config: None,
        args,
        env: &[],
        file: None,
        query: None,
        field: Some(field),
        says,
    }
}

/// A case of a client secret (or id) file that cannot be used.
fn secret(
    what: &'static str,
    args: &'static [&'static str],
    file: &'static str,
    field: &'static str,
    says: &'static [&'static str],
) -> Case {
    Case {
        what,
        mode: Mode::Real,
        config: None,
        args,
        env: &[],
        file: Some(file),
        query: None,
        field: Some(field),
        says,
    }
}

const Q1: Option<&str> = Some("query \"q1\"");
const LIVE: Option<&str> = Some("observation \"live\"");

fn cases() -> Vec<Case> {
    vec![
        // Wrong types.
        config(
            "a string where a list belongs",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: nOffered\n",
            Q1,
            Some("field `metrics`"),
            &["config.yaml:4:", "expected a list"],
        ),
        config(
            "a list where a duration belongs",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    settle_delay: [90s]\n",
            Q1,
            Some("field `settle_delay`"),
            &[
                "config.yaml:5:",
                "invalid type: sequence, expected a string",
            ],
        ),
        config(
            "a list as the query name",
            "queries:\n  - name: [a]\n    granularity: PT30M\n    metrics: [nOffered]\n",
            Some("queries[0]"),
            Some("field `name`"),
            &["expected a string"],
        ),
        config(
            "a mapping where the query list belongs",
            "queries: {name: q1, granularity: PT30M, metrics: [nOffered]}\n",
            None,
            Some("field `queries`"),
            &["expected a list"],
        ),
        config(
            "a list at the top level",
            "- name: q1\n  granularity: PT30M\n  metrics: [nOffered]\n",
            None,
            None,
            &[
                "config.yaml:1:1:",
                "expected a mapping with a `queries` list",
            ],
        ),
        config(
            "a number as the time zone",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    time_zone: 5\n",
            Q1,
            Some("field `time_zone`"),
            &["\"5\" is not an IANA time zone; expected"],
        ),
        config(
            "a string as the filter",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    filter: voice\n",
            Q1,
            Some("field `filter`"),
            &["found a string"],
        ),
        // Unknown keys, with a suggestion.
        config(
            "camelCase key",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    groupBy: [queueId]\n",
            Q1,
            Some("field `groupBy`"),
            &["config.yaml:5:", "unknown key (did you mean `group_by`?)"],
        ),
        config(
            "shortened key",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    settle: 90s\n",
            Q1,
            Some("field `settle`"),
            &["did you mean `settle_delay`?"],
        ),
        config(
            "misspelt top-level key",
            "querys:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n",
            None,
            Some("field `querys`"),
            &["unknown key (did you mean `queries`?)"],
        ),
        config(
            "unrelated key",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    colour: blue\n",
            Q1,
            Some("field `colour`"),
            &["unknown key; expected one of"],
        ),
        config(
            "key given twice",
            "queries:\n  - name: q1\n    name: q2\n    granularity: PT30M\n    metrics: [nOffered]\n",
            Some("queries[0]"),
            Some("field `name`"),
            &["appears twice"],
        ),
        // Durations.
        config(
            "a duration that is a word",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    settle_delay: soon\n",
            Q1,
            Some("field `settle_delay`"),
            &["\"soon\" is not a duration", "such as \"90s\""],
        ),
        config(
            "a duration without a unit",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    settle_delay: 90\n",
            Q1,
            Some("field `settle_delay`"),
            &["\"90\" is not a duration"],
        ),
        config(
            "a negative duration",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    refresh: -5m\n",
            Q1,
            Some("field `refresh`"),
            &["\"-5m\" is not a duration"],
        ),
        config(
            "a refresh shorter than the minimum",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    refresh: 1s\n",
            Q1,
            Some("field `refresh`"),
            &["shorter than the 10s minimum"],
        ),
        config(
            "a settle delay longer than the maximum",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    settle_delay: 2h\n",
            Q1,
            Some("field `settle_delay`"),
            &["longer than the 1h maximum"],
        ),
        // Names.
        config(
            "two queries with one name",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n  - name: q1\n    granularity: PT1H\n    metrics: [nOffered]\n",
            Some("queries[1]"),
            Some("field `name`"),
            &["\"q1\" is already the name of queries[0]"],
        ),
        config(
            "a query without a name",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n  - granularity: PT30M\n    metrics: [nOffered]\n",
            Some("queries[1]"),
            Some("field `name`"),
            &["missing"],
        ),
        config(
            "a name with a space",
            "queries:\n  - name: my query\n    granularity: PT30M\n    metrics: [nOffered]\n",
            Some("queries[0]"),
            Some("field `name`"),
            &["\"my query\" is not a valid name"],
        ),
        // Time zones.
        config(
            "a misspelt time zone",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    time_zone: Europe/Londn\n",
            Q1,
            Some("field `time_zone`"),
            &["did you mean \"Europe/London\"?"],
        ),
        config(
            "an invented time zone",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    time_zone: Mars/Olympus_Mons\n",
            Q1,
            Some("field `time_zone`"),
            &["\"Mars/Olympus_Mons\" is not an IANA time zone"],
        ),
        // Metrics.
        config(
            "an empty metric list",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: []\n",
            Q1,
            Some("field `metrics`"),
            &["is empty"],
        ),
        config(
            "no metric list",
            "queries:\n  - name: q1\n    granularity: PT30M\n",
            Q1,
            Some("field `metrics`"),
            &["missing"],
        ),
        config(
            "a metric name without its family letter",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered, handleTime]\n",
            Q1,
            Some("field `metrics[1]`"),
            &["\"handleTime\" is not a Genesys metric name"],
        ),
        config(
            "a metric listed twice",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [tHandle, nOffered, tHandle]\n",
            Q1,
            Some("field `metrics[2]`"),
            &["listed twice (also metrics[0])"],
        ),
        config(
            "a dimension that would clash with a label of the exporter",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    group_by: [queueId, queueName]\n",
            Q1,
            Some("field `group_by[1]`"),
            &["label `queue_name`"],
        ),
        // Granularity.
        config(
            "a granularity that does not tile a day",
            "queries:\n  - name: q1\n    granularity: PT7M\n    metrics: [nOffered]\n",
            Q1,
            Some("field `granularity`"),
            &["\"PT7M\" does not tile a day", "PT6M or PT8M"],
        ),
        config(
            "a granularity that is a number",
            "queries:\n  - name: q1\n    granularity: 30\n    metrics: [nOffered]\n",
            Q1,
            Some("field `granularity`"),
            &["must start with P"],
        ),
        config(
            "a granularity below the minimum",
            "queries:\n  - name: q1\n    granularity: PT1M\n    metrics: [nOffered]\n",
            Q1,
            Some("field `granularity`"),
            &["\"PT1M\""],
        ),
        config(
            "no granularity",
            "queries:\n  - name: q1\n    metrics: [nOffered]\n",
            Q1,
            Some("field `granularity`"),
            &["missing"],
        ),
        // Broken files.
        config("an empty file", "", None, None, &["the file is empty"]),
        config(
            "only comments",
            "# queries: to do\n",
            None,
            None,
            &["the file is empty"],
        ),
        config(
            "an unclosed list",
            "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered\n",
            None,
            None,
            &["config.yaml:5:1:", "did not find expected ',' or ']'"],
        ),
        config(
            "a tab in the indentation",
            "queries:\n  - name: q1\n    granularity: PT30M\n\tmetrics: [nOffered]\n",
            None,
            None,
            &["config.yaml:4:1:", "tab character"],
        ),
        Case {
            what: "a config file that does not exist",
            mode: Mode::Demo,
            config: None,
            args: &["--config.file", "{dir}/absent.yaml"],
            env: &[],
            file: Some("{dir}/absent.yaml"),
            query: None,
            field: None,
            says: &["cannot read config file", "No such file"],
        },
        Case {
            what: "a directory as the config file",
            mode: Mode::Demo,
            config: None,
            args: &["--config.file", "{dir}"],
            env: &[],
            file: Some("{dir}"),
            query: None,
            field: None,
            says: &["cannot read config file"],
        },
        // Flags.
        flags(
            "no API budget",
            Mode::Demo,
            &["--genesys.requests-per-minute", "0"],
            "--genesys.requests-per-minute",
            &["invalid value '0'"],
        ),
        flags(
            "a negative API budget",
            Mode::Demo,
            &["--genesys.requests-per-minute=-5"],
            "--genesys.requests-per-minute",
            &["invalid value '-5'"],
        ),
        flags(
            "an API budget too large to count",
            Mode::Demo,
            &["--genesys.requests-per-minute", "99999999999"],
            "--genesys.requests-per-minute",
            &["too large"],
        ),
        Case {
            what: "no API budget, from the environment",
            env: &[("GENESYS_REQUESTS_PER_MINUTE", "0")],
            ..flags(
                "",
                Mode::Demo,
                &[],
                "--genesys.requests-per-minute",
                &["invalid value '0'"],
            )
        },
        flags(
            "a listen address without a port",
            Mode::Demo,
            &["--web.listen-address", "localhost"],
            "--web.listen-address",
            &["\"localhost\" is not HOST:PORT or :PORT"],
        ),
        flags(
            "a port out of range",
            Mode::Demo,
            &["--web.listen-address", ":99999"],
            "--web.listen-address",
            &["\":99999\" is not HOST:PORT or :PORT"],
        ),
        flags(
            "an empty listen address after a comma",
            Mode::Demo,
            &["--web.listen-address", "127.0.0.1:0,"],
            "--web.listen-address",
            &["\"\" is not HOST:PORT or :PORT"],
        ),
        flags(
            "a telemetry path without a slash",
            Mode::Demo,
            &["--web.telemetry-path", "metrics"],
            "--web.telemetry-path",
            &["must start with '/'"],
        ),
        flags(
            "a telemetry path taken by the health check",
            Mode::Demo,
            &["--web.telemetry-path", "/-/healthy"],
            "--web.telemetry-path",
            &["taken by the landing page, a probe or /-/reload"],
        ),
        flags(
            "a refresh that is not a duration",
            Mode::Demo,
            &["--genesys.names-refresh", "soon"],
            "--genesys.names-refresh",
            &["invalid value 'soon'"],
        ),
        flags(
            "a zero names refresh, under the old flag name",
            Mode::Demo,
            &["--genesys.queue-names-refresh", "0s"],
            "--genesys.names-refresh",
            &["is zero"],
        ),
        flags(
            "a zero request timeout",
            Mode::Demo,
            &["--genesys.request-timeout", "0"],
            "--genesys.request-timeout",
            &["is zero"],
        ),
        flags(
            "a timeout in unknown units",
            Mode::Demo,
            &["--genesys.request-timeout", "5parsecs"],
            "--genesys.request-timeout",
            &["unknown time unit"],
        ),
        flags(
            "an unknown log level",
            Mode::Demo,
            &["--log.level", "loud"],
            "--log.level",
            &["possible values: debug, info, warn, error"],
        ),
        flags(
            "an unknown log format",
            Mode::Demo,
            &["--log.format", "xml"],
            "--log.format",
            &["possible values: logfmt, json"],
        ),
        flags(
            "a misspelt flag",
            Mode::Demo,
            &["--web.listen-adress", ":9471"],
            "--web.listen-address",
            &["unexpected argument '--web.listen-adress'"],
        ),
        flags(
            "an unknown region in demo mode",
            Mode::Demo,
            &["--genesys.region", "mars"],
            "unknown Genesys region \"mars\"",
            &["eu_west_1"],
        ),
        flags(
            "an unknown region",
            Mode::Real,
            &["--genesys.region", "mars"],
            "unknown Genesys region \"mars\"",
            &["a host such as mypurecloud.ie"],
        ),
        flags(
            "an API URL that is not a URL",
            Mode::Real,
            &["--genesys.api-url", "api.example.com"],
            "--genesys.api-url",
            &["\"api.example.com\" is not an http(s) URL"],
        ),
        flags(
            "a login URL of another scheme",
            Mode::Real,
            &["--genesys.login-url", "ftp://login.example.com"],
            "--genesys.login-url",
            &["is not an http(s) URL"],
        ),
        // Secret files.
        secret(
            "a missing secret file",
            &["--genesys.client-secret-file", "{dir}/absent-secret"],
            "{dir}/absent-secret",
            "--genesys.client-secret-file",
            &["cannot read the client secret file", "No such file"],
        ),
        secret(
            "an empty secret file",
            &["--genesys.client-secret-file", "{dir}/empty"],
            "{dir}/empty",
            "--genesys.client-secret-file",
            &["is empty"],
        ),
        secret(
            "a secret file that is a directory",
            &["--genesys.client-secret-file", "{dir}/a-directory"],
            "{dir}/a-directory",
            "--genesys.client-secret-file",
            &["cannot read the client secret file"],
        ),
        secret(
            "a secret file that is not text",
            &["--genesys.client-secret-file", "{dir}/binary"],
            "{dir}/binary",
            "--genesys.client-secret-file",
            &["cannot read the client secret file", "UTF-8"],
        ),
        secret(
            "a secret file that cannot be opened, even by root",
            &["--genesys.client-secret-file", "{dir}/socket"],
            "{dir}/socket",
            "--genesys.client-secret-file",
            &["cannot read the client secret file"],
        ),
        secret(
            "a missing client id file",
            &["--genesys.client-id-file", "{dir}/absent-id"],
            "{dir}/absent-id",
            "--genesys.client-id-file",
            &["cannot read the client id file"],
        ),
        flags(
            "no credentials at all",
            Mode::NoCredentials,
            &[],
            "GENESYS_CLIENT_SECRET (or GENESYSCLOUD_OAUTHCLIENT_SECRET, or --genesys.client-secret-file)",
            &["missing Genesys Cloud OAuth credentials", "--demo"],
        ),
        // Queue observations.
        config(
            "an unknown observation metric",
            "observations:\n  - name: live\n    metrics: [oWaitng]\n",
            LIVE,
            Some("field `metrics[0]`"),
            &[
                "not a queue observation metric",
                "did you mean \"oWaiting\"",
            ],
        ),
        config(
            "an observation metric in a conversation query",
            "queries:\n  - {name: q1, granularity: PT30M, metrics: [nOffered, oWaiting]}\n",
            Q1,
            Some("field `metrics[1]`"),
            &["queue observation metric", "`observations` entry"],
        ),
        config(
            "an aggregates metric in an observation set",
            "observations:\n  - {name: live, metrics: [oWaiting, nOffered]}\n",
            LIVE,
            Some("field `metrics[1]`"),
            &["conversation aggregates metric", "`queries` entry"],
        ),
        config(
            "the interval in progress without a refresh",
            "queries:\n  - {name: q1, granularity: P1D, period: current, metrics: [nOffered]}\n",
            Q1,
            Some("field `refresh`"),
            &["`period: current` polls the interval in progress every `refresh`"],
        ),
        config(
            "an observation refresh under 10 s",
            "observations:\n  - {name: live, metrics: [oWaiting], refresh: 5s}\n",
            LIVE,
            Some("field `refresh`"),
            &["shorter than the 10s minimum"],
        ),
        config(
            "a queue id that is not a UUID",
            "observations:\n  - {name: live, metrics: [oWaiting], queues: [Billing]}\n",
            LIVE,
            Some("field `queues[0]`"),
            &["\"Billing\" is not a queue id", "UUIDs"],
        ),
        config(
            "a name shared by a query and an observation set",
            "queries:\n  - {name: live, granularity: PT30M, metrics: [nOffered]}\nobservations:\n  - {name: live, metrics: [oWaiting]}\n",
            Some("observations[0]"),
            Some("field `name`"),
            &[
                "already the name of queries[0]",
                "unique across queries and observations",
            ],
        ),
        config(
            "a detail metric that lists no conversations",
            "observations:\n  - {name: live, metrics: [oWaiting, oMemberUsers], detail_metrics: [oMemberUsers]}\n",
            LIVE,
            Some("field `detail_metrics[0]`"),
            &["lists no conversations", "oWaiting"],
        ),
        config(
            "an unknown media type",
            "observations:\n  - {name: live, metrics: [oWaiting], media_types: [voic]}\n",
            LIVE,
            Some("field `media_types[0]`"),
            &["not a Genesys media type", "did you mean \"voice\""],
        ),
        config(
            "more queues a request than Genesys takes",
            "observations:\n  - {name: live, metrics: [oWaiting], max_queues_per_request: 101}\n",
            LIVE,
            Some("field `max_queues_per_request`"),
            &["outside 1..=100"],
        ),
        config(
            "a filter too large for one request, on a dimension not grouped by",
            too_large_filter(),
            Q1,
            Some("field `filter.predicates`"),
            &[
                "over the 512000 Genesys takes in one request",
                "queueId is not in group_by, so the answers of split requests could not be merged exactly",
            ],
        ),
        // Names Genesys would refuse on every poll, and the limits of a filter.
        config(
            "a misspelt metric",
            "queries: [{name: q1, granularity: PT30M, metrics: [nOffered, nOfered]}]",
            Q1,
            Some("field `metrics[1]`"),
            &[
                "\"nOfered\" is not a conversation aggregate metric",
                "did you mean \"nOffered\"?",
                "allow_unlisted",
            ],
        ),
        config(
            "a dimension in the wrong case",
            "queries: [{name: q1, granularity: PT30M, metrics: [nOffered], group_by: [queueID]}]",
            Q1,
            Some("field `group_by[0]`"),
            &["did you mean \"queueId\"?"],
        ),
        config(
            "a wrong-case dimension in a filter",
            "queries: [{name: q1, granularity: PT30M, metrics: [nOffered], filter: {type: and, predicates: [{dimension: mediatype, value: voice}]}}]",
            Q1,
            Some("field `filter.predicates[0].dimension`"),
            &["did you mean \"mediaType\"?"],
        ),
        config(
            "a predicate cap of 0",
            "queries: [{name: q1, granularity: PT30M, metrics: [nOffered], max_predicates_per_request: 0}]",
            Q1,
            Some("field `max_predicates_per_request`"),
            &["0 is out of range; expected 1 to 1000"],
        ),
        config(
            "a predicate cap over 1,000",
            "queries: [{name: q1, granularity: PT30M, metrics: [nOffered], max_predicates_per_request: 1001}]",
            Q1,
            Some("field `max_predicates_per_request`"),
            &["1001 is out of range; expected 1 to 1000"],
        ),
        config(
            "a filter nested three levels",
            "queries: [{name: q1, granularity: PT30M, metrics: [nOffered], filter: {type: and, clauses: [{type: or, predicates: [{dimension: mediaType, value: voice}], clauses: [{type: and, predicates: [{dimension: queueId, value: x}]}]}]}}]",
            Q1,
            Some("field `filter.clauses[0].clauses`"),
            &["a clause holds only predicates", "two levels at most"],
        ),
    ]
}

/// A query whose `or` list over 8,000 queues makes a request body over the limit, and
/// which groups by media type only, so that splitting it could not be exact.
fn too_large_filter() -> &'static str {
    let predicates: Vec<String> = (0..8_000)
        .map(|i| format!("{{dimension: queueId, value: {i:08}-0000-4000-8000-000000000000}}"))
        .collect();
    let yaml = format!(
        "queries:\n  - name: q1\n    granularity: PT30M\n    metrics: [nOffered]\n    group_by: [mediaType]\n    filter: {{type: or, predicates: [{}]}}\n",
        predicates.join(", ")
    );
    // Cases hold static text; this one is made once per run.
    Box::leak(yaml.into_boxed_str())
}

/// The files the secret cases point at. Permissions cannot make a file unreadable when
/// the suite runs as root (as CI does); a Unix socket left behind by its listener cannot
/// be opened by anyone (ENXIO).
fn write_secret_files(dir: &Path) {
    std::fs::write(dir.join("empty"), "\n").unwrap();
    std::fs::write(dir.join("binary"), [0xff, 0xfe, 0x00, 0x01]).unwrap();
    std::fs::create_dir(dir.join("a-directory")).unwrap();
    drop(std::os::unix::net::UnixListener::bind(dir.join("socket")).unwrap());
}

/// Standard error with logfmt's escapes undone (`\"` -> `"`), so that messages can be
/// matched as the user reads them.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn run(case: &Case) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    write_secret_files(dir.path());
    let dir_text = dir.path().to_string_lossy().into_owned();
    let fill = |text: &str| text.replace("{dir}", &dir_text);

    let mut run = match case.mode {
        Mode::Demo => ExporterRun::demo(),
        Mode::Real | Mode::NoCredentials => ExporterRun {
            args: vec![],
            env: vec![],
        },
    };
    if let Mode::Real = case.mode {
        // A case about the id (or secret) file gets the other credential from the
        // environment; a case about regions or URLs gets both.
        for (flag, variable, value) in [
            ("--genesys.client-id-file", "GENESYS_CLIENT_ID", "id"),
            (
                "--genesys.client-secret-file",
                "GENESYS_CLIENT_SECRET",
                "secret",
            ),
        ] {
            if !case.args.contains(&flag) {
                run.env.push((variable, value.into()));
            }
        }
    }
    for (name, value) in case.env {
        run.env.push((name, fill(value)));
    }
    run.args.extend(case.args.iter().map(|a| fill(a)));
    if let Some(yaml) = case.config {
        run = run.config(dir.path(), yaml);
    }
    let (status, stderr) = run.run_to_exit();
    let message = unescape(&stderr);

    let mut problems = Vec::new();
    if status.code() != Some(2) {
        problems.push(format!("exit status {status}, expected 2"));
    }
    if message.contains("panicked") {
        problems.push("it panicked".to_string());
    }
    let mut wanted: Vec<String> = case.says.iter().map(|s| s.to_string()).collect();
    wanted.extend(case.file.map(fill));
    wanted.extend(case.query.map(|q| format!(": {q}: ")));
    wanted.extend(case.field.map(str::to_string));
    for fragment in wanted {
        if !message.contains(&fragment) {
            problems.push(format!("does not say {fragment:?}"));
        }
    }
    if case.query.is_none() && message.contains("query \"") {
        problems.push("names a query where none applies".to_string());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: {}\n  stderr: {}",
            case.what,
            problems.join("; "),
            stderr.trim_end()
        ))
    }
}

/// Every case, each in its own directory; all failures are reported together.
#[test]
fn bad_input_exits_2_naming_file_query_and_field() {
    let cases = cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    // A case that panics (an exporter that starts instead of exiting) is reported with
    // the others rather than hiding them.
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| match std::panic::catch_unwind(|| run(case)) {
            Ok(result) => result.err(),
            Err(_) => Some(format!("{}: the case panicked (see above)", case.what)),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Every case matches against unescaped standard error; the unescaping must be right.
#[test]
fn unescape_undoes_logfmt_quoting() {
    assert_eq!(
        unescape(r#"error="a \"q1\" b \\ c \' d""#),
        r#"error="a "q1" b \ c ' d""#
    );
}
