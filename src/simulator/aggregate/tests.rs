//! The aggregates query's validation and answers, on the simulator's deterministic org.

use super::*;
use crate::genesys::sources::CONVERSATIONS;

const FAR_FUTURE: i64 = i64::MAX / 2;

fn world() -> World {
    World::new(1, 8)
}

/// The answer's results gathered into the answer's shape (what `sources::answer_text`
/// writes as text): `{}` when there are none.
fn run(world: &World, query: &AggregateQuery, now_ms: i64) -> Value {
    let mut results = Vec::new();
    for_each_result(world, query, now_ms, None, |_, result| {
        results.push(result);
        ControlFlow::Continue(())
    });
    if results.is_empty() {
        return json!({});
    }
    json!({ "results": results })
}

const LIMITS: QueryLimits = QueryLimits {
    max_predicates: Some(100),
};

fn query(world: &World, body: Value) -> Result<AggregateQuery, String> {
    parse_query(body.to_string().as_bytes(), world, LIMITS, CONVERSATIONS).map_err(|e| e.message)
}

fn run_json(world: &World, body: Value) -> Value {
    match query(world, body) {
        Ok(q) => run(world, &q, FAR_FUTURE),
        Err(e) => json!({ "error": e }),
    }
}

/// Sums `count` (or `sum`) of a metric over every group and bucket.
fn total(result: &Value, metric: &str, field: &str) -> i64 {
    let mut t = 0;
    for r in result["results"].as_array().into_iter().flatten() {
        for d in r["data"].as_array().into_iter().flatten() {
            for m in d["metrics"].as_array().into_iter().flatten() {
                if m["metric"] == metric {
                    t += m["stats"][field].as_i64().unwrap_or(0);
                }
            }
        }
    }
    t
}

#[test]
fn validation_messages_name_the_problem() {
    let w = world();
    let base = || json!({"interval": "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z", "metrics": ["nOffered"]});
    let err = |body: Value| query(&w, body).err().unwrap_or_default();
    assert!(query(&w, base()).is_ok());
    assert!(
        parse_query(b"{not json", &w, LIMITS, CONVERSATIONS)
            .err()
            .is_some_and(|e| e.message.contains("JSON"))
    );
    assert!(parse_query(b"[1]", &w, LIMITS, CONVERSATIONS).is_err());
    let mut b = base();
    b["metrics"] = json!(["nFoo"]);
    assert!(err(b).contains("nFoo"));
    let mut b = base();
    b["metrics"] = json!([]);
    assert!(err(b).contains("metrics"));
    let mut b = base();
    b["groupBy"] = json!(["fooId"]);
    assert!(err(b).contains("fooId"));
    let mut b = base();
    b["filter"] = json!({"type": "and", "predicates": [{"dimension": "barId", "value": "x"}]});
    assert!(err(b).contains("barId"));
    let mut b = base();
    b["filter"] = json!({"type": "xor", "predicates": [{"dimension": "queueId", "value": "x"}]});
    assert!(err(b).contains("xor"));
    let mut b = base();
    b["filter"] = json!({"type": "and", "predicates": [{"dimension": "queueId"}]});
    assert!(err(b).contains("value"));
    let mut b = base();
    b["filter"] = json!({"type": "and", "predicates": []});
    assert!(err(b).contains("predicate"));
    let mut b = base();
    b["granularity"] = json!("PT7M");
    assert!(err(b).contains("PT7M"));
    let mut b = base();
    b["timeZone"] = json!("Europe/Nowhere");
    assert!(err(b).contains("Europe/Nowhere"));
    let b = json!({"metrics": ["nOffered"]});
    assert!(err(b).contains("interval"));
    // Unknown fields are ignored.
    let mut b = base();
    b["somethingNew"] = json!({"x": 1});
    b["flattenMultivaluedDimensions"] = json!(true);
    assert!(query(&w, b).is_ok());
}

/// The field each refusal names, as `details[].fieldName` carries it.
#[test]
fn refusals_name_the_field() {
    let w = world();
    let field = |body: Value| {
        parse_query(body.to_string().as_bytes(), &w, LIMITS, CONVERSATIONS)
            .err()
            .map(|e| e.field)
            .unwrap_or_default()
    };
    let interval = "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z";
    let with_filter =
        |filter: Value| json!({"interval": interval, "metrics": ["nOffered"], "filter": filter});
    assert_eq!(
        field(json!({"interval": interval, "metrics": ["nOffered", "nOfered"]})),
        "metrics[1]"
    );
    assert_eq!(
        field(json!({"interval": interval, "metrics": ["oWaiting"]})),
        "metrics[0]"
    );
    assert_eq!(
        field(
            json!({"interval": interval, "metrics": ["nOffered"], "groupBy": ["queueId", "queueID"]})
        ),
        "groupBy[1]"
    );
    assert_eq!(
        field(with_filter(
            json!({"type": "and", "clauses": [{"type": "or", "predicates": [
            {"dimension": "queueId", "value": "a"}, {"dimension": "mediatype", "value": "voice"}]}]})
        )),
        "filter.clauses[0].predicates[1].dimension"
    );
    assert_eq!(
        field(with_filter(json!({"type": "and", "predicates": [
            {"type": "metric", "metric": "tHandel", "range": {"gt": 1}}]}))),
        "filter.predicates[0].metric"
    );
    assert_eq!(
        field(with_filter(json!({"type": "and", "predicates": [
            {"type": "metric", "metric": "tHandle", "range": {}}]}))),
        "filter.predicates[0].range"
    );
    assert_eq!(
        field(with_filter(json!({"type": "and", "predicates": [
            {"type": "property", "property": "x", "propertyType": "float", "value": "1"}]}))),
        "filter.predicates[0].propertyType"
    );
    assert_eq!(
        field(with_filter(
            json!({"type": "and", "predicates": [{"type": "segment"}]})
        )),
        "filter.predicates[0].type"
    );
    assert_eq!(field(json!({"metrics": ["nOffered"]})), "interval");
}

#[test]
fn filters_nest_two_levels_at_most() {
    let w = world();
    let interval = "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z";
    let predicate = json!({"dimension": "mediaType", "value": "voice"});
    let two = json!({"interval": interval, "metrics": ["nOffered"], "filter":
        {"type": "and", "clauses": [{"type": "or", "predicates": [predicate]}]}});
    assert!(query(&w, two).is_ok());
    let three = json!({"interval": interval, "metrics": ["nOffered"], "filter":
        {"type": "and", "clauses": [{"type": "or", "predicates": [predicate],
            "clauses": [{"type": "and", "predicates": [predicate]}]}]}});
    let error = parse_query(three.to_string().as_bytes(), &w, LIMITS, CONVERSATIONS).err();
    assert_eq!(
        error.map(|e| e.field).as_deref(),
        Some("filter.clauses[0].clauses")
    );
}

#[test]
fn predicates_are_capped_over_every_level() {
    let w = world();
    let interval = "2026-11-25T12:00:00Z/2026-11-25T13:00:00Z";
    let predicates = |n: usize| {
        (0..n)
            .map(|i| json!({"dimension": "queueId", "value": format!("q{i}")}))
            .collect::<Vec<_>>()
    };
    let body = |top: usize, nested: usize| {
        let mut top_level = vec![json!({"dimension": "mediaType", "operator": "exists"})];
        top_level.extend(predicates(top));
        json!({"interval": interval, "metrics": ["nOffered"], "filter": {"type": "and",
            "predicates": top_level,
            "clauses": [{"type": "or", "predicates": predicates(nested)}]}})
    };
    assert!(query(&w, body(49, 50)).is_ok());
    let over = query(&w, body(50, 50)).err().unwrap_or_default();
    assert!(
        over.contains("101 predicates") && over.contains("100"),
        "{over}"
    );
    let lifted = QueryLimits {
        max_predicates: None,
    };
    assert!(
        parse_query(
            body(500, 500).to_string().as_bytes(),
            &w,
            lifted,
            CONVERSATIONS
        )
        .is_ok()
    );
}

#[test]
fn metric_predicates_filter_groups_by_their_value() {
    let w = world();
    let interval = "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z";
    let groups = |filter: Option<Value>| {
        let mut body = json!({"interval": interval, "groupBy": ["queueId", "mediaType"],
            "metrics": ["nOffered"]});
        if let Some(filter) = filter {
            body["filter"] = filter;
        }
        let result = run_json(&w, body);
        result["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|g| {
                let count = g["data"][0]["metrics"][0]["stats"]["count"]
                    .as_i64()
                    .unwrap_or(0);
                (g["group"].to_string(), count)
            })
            .collect::<Vec<_>>()
    };
    let all = groups(None);
    let mut counts: Vec<i64> = all.iter().map(|(_, c)| *c).collect();
    counts.sort_unstable();
    let median = counts[counts.len() / 2];
    assert!(
        counts[0] < median,
        "the groups' counts do not differ: {counts:?}"
    );
    let busy = groups(Some(json!({"type": "and", "predicates": [
        {"type": "metric", "metric": "nOffered", "range": {"gte": median}}]})));
    let expected: Vec<_> = all.iter().filter(|(_, c)| *c >= median).cloned().collect();
    assert!(!busy.is_empty() && busy.len() < all.len());
    assert_eq!(busy, expected);
    // On a metric that is not requested, a timer: groups whose handle time sums to
    // more than zero are those with handled conversations.
    let handled = groups(Some(json!({"type": "and", "predicates": [
        {"type": "metric", "metric": "tHandle", "range": {"gt": 0}}]})));
    assert!(!handled.is_empty() && handled.len() <= all.len());
    // A metric the model has no data for never has a value.
    let none = groups(Some(json!({"type": "and", "predicates": [
        {"type": "metric", "metric": "tTransmitting", "operator": "exists"}]})));
    assert!(none.is_empty());
    let every = groups(Some(json!({"type": "and", "predicates": [
        {"type": "metric", "metric": "tTransmitting", "operator": "notExists"}]})));
    assert_eq!(every, all);
}

#[test]
fn property_predicates_are_accepted_and_never_match() {
    let w = world();
    let interval = "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z";
    let offered = |predicate: Value| {
        total(
            &run_json(
                &w,
                json!({"interval": interval, "metrics": ["nOffered"],
                    "filter": {"type": "and", "predicates": [predicate]}}),
            ),
            "nOffered",
            "count",
        )
    };
    let unfiltered = total(
        &run_json(&w, json!({"interval": interval, "metrics": ["nOffered"]})),
        "nOffered",
        "count",
    );
    assert!(unfiltered > 0);
    assert_eq!(
        offered(
            json!({"type": "property", "property": "vip", "propertyType": "bool",
            "operator": "matches", "value": "true"})
        ),
        0
    );
    assert_eq!(
        offered(json!({"type": "property", "property": "vip", "operator": "notExists"})),
        unfiltered
    );
}

#[test]
fn finer_buckets_add_up_to_coarser_ones() {
    let w = world();
    let metrics = json!([
        "nOffered",
        "tHandle",
        "tAnswered",
        "oServiceLevel",
        "tAbandon"
    ]);
    let coarse = run_json(
        &w,
        json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "metrics": metrics}),
    );
    let fine = run_json(
        &w,
        json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "granularity": "PT15M", "metrics": metrics}),
    );
    for (m, f) in [
        ("nOffered", "count"),
        ("tHandle", "count"),
        ("tHandle", "sum"),
        ("tAnswered", "sum"),
        ("oServiceLevel", "denominator"),
        ("oServiceLevel", "numerator"),
        ("tAbandon", "count"),
    ] {
        let c = total(&coarse, m, f);
        assert!(c > 0, "{m}.{f} is zero");
        assert_eq!(c, total(&fine, m, f), "{m}.{f}");
    }
    assert_eq!(
        coarse["results"][0]["data"].as_array().map(Vec::len),
        Some(1)
    );
    assert_eq!(fine["results"][0]["data"].as_array().map(Vec::len), Some(4));
}

#[test]
fn filters_select_and_combine() {
    let w = world();
    let q0 = w.queue_ids()[0].clone();
    let q1 = w.queue_ids()[1].clone();
    let interval = "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z";
    let one = |q: &str| {
        total(
            &run_json(
                &w,
                json!({"interval": interval, "metrics": ["nOffered"],
                    "filter": {"type": "and", "predicates": [{"type": "dimension", "dimension": "queueId", "operator": "matches", "value": q}]}}),
            ),
            "nOffered",
            "count",
        )
    };
    let both = total(
        &run_json(
            &w,
            json!({"interval": interval, "metrics": ["nOffered"],
                "filter": {"type": "or", "predicates": [
                    {"dimension": "queueId", "value": q0},
                    {"dimension": "queueId", "value": q1}]}}),
        ),
        "nOffered",
        "count",
    );
    assert!(one(&q0) > 0 && one(&q1) > 0);
    assert_eq!(one(&q0) + one(&q1), both);
    assert_eq!(one("no-such-queue"), 0);
    let none = run_json(
        &w,
        json!({"interval": interval, "metrics": ["nOffered"],
            "filter": {"type": "and", "predicates": [{"dimension": "queueId", "value": "nope"}]}}),
    );
    assert_eq!(none, json!({}));
    // Nested clause: voice in queue 0, and (userId exists) -> only answered ones.
    let answered = run_json(
        &w,
        json!({"interval": interval, "metrics": ["tAbandon", "tAnswered"],
            "filter": {"type": "and",
                "predicates": [{"dimension": "mediaType", "value": "voice"}],
                "clauses": [{"type": "or", "predicates": [{"dimension": "userId", "operator": "exists"}]}]}}),
    );
    assert_eq!(total(&answered, "tAbandon", "count"), 0);
    assert!(total(&answered, "tAnswered", "count") > 0);
    // notExists on a dimension the model lacks matches everything.
    let all = run_json(
        &w,
        json!({"interval": interval, "metrics": ["nOffered"],
            "filter": {"type": "and", "predicates": [{"dimension": "ani", "operator": "notExists"}]}}),
    );
    let unfiltered = run_json(&w, json!({"interval": interval, "metrics": ["nOffered"]}));
    assert_eq!(all, unfiltered);
}

#[test]
fn groups_lack_keys_that_do_not_apply() {
    let w = world();
    let r = run_json(
        &w,
        json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z",
            "groupBy": ["queueId", "userId", "teamId"], "metrics": ["tAbandon", "tTalk"]}),
    );
    let results = r["results"].as_array().cloned().unwrap_or_default();
    let without_user: Vec<&Value> = results
        .iter()
        .filter(|g| g["group"].get("userId").is_none())
        .collect();
    assert!(!without_user.is_empty());
    for g in &without_user {
        assert!(g["group"].get("queueId").is_some());
        assert!(g["group"].get("teamId").is_none());
        let metrics = &g["data"][0]["metrics"];
        assert_eq!(metrics[0]["metric"], "tAbandon");
        assert_eq!(metrics.as_array().map(Vec::len), Some(1));
    }
    assert!(results.iter().any(|g| g["group"].get("userId").is_some()));
}

#[test]
fn future_measurements_are_not_reported() {
    let w = world();
    let q = query(
        &w,
        json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "metrics": ["nOffered"]}),
    );
    let Ok(q) = q else {
        panic!("query rejected");
    };
    let half = run(&w, &q, 1_795_564_800_000 + 10 * 3_600_000 + 1_800_000);
    let full = run(&w, &q, FAR_FUTURE);
    let (h, f) = (
        total(&half, "nOffered", "count"),
        total(&full, "nOffered", "count"),
    );
    assert!(h > 0 && h < f, "half {h} full {f}");
    assert_eq!(run(&w, &q, 0), json!({}));
}

#[test]
fn unmodelled_metrics_have_no_data() {
    let w = world();
    let r = run_json(
        &w,
        json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "metrics": ["tIvr", "nOffered", "nOffered"]}),
    );
    let metrics = &r["results"][0]["data"][0]["metrics"];
    assert_eq!(metrics.as_array().map(Vec::len), Some(1));
    assert_eq!(metrics[0]["metric"], "nOffered");
    let r = run_json(
        &w,
        json!({"interval": "2026-11-25T10:00:00Z/2026-11-25T11:00:00Z", "metrics": ["tIvr"]}),
    );
    assert_eq!(r, json!({}));
}

/// A whole day over every queue, media type and user answers with real traffic; how
/// fast it does so is measured by the benches, not asserted here.
#[test]
fn a_day_over_all_queues_media_types_and_users_has_traffic() {
    let w = world();
    let r = run_json(
        &w,
        json!({"interval": "2026-11-24T00:00:00Z/2026-11-25T00:00:00Z", "granularity": "PT30M",
            "groupBy": ["queueId", "mediaType", "userId"],
            "metrics": ["nOffered", "nConnected", "tHandle", "tTalk", "tAcw", "tAnswered", "tAbandon", "oServiceLevel"]}),
    );
    assert!(total(&r, "nOffered", "count") > 5_000);
}

/// A job's page resumes the answer at a group (`for_each_result` from its key): every
/// grouping's answer, tallied a slice of the org at a time, is the same from any group
/// on as the whole answer's tail, and the slicings agree with each other.
#[test]
fn results_resume_at_any_group_and_slices_agree() {
    let w = World::new(1, 2 * QUEUES_PER_SLICE as usize + 3);
    let body = |group_by: Value, filter: Value| {
        json!({"interval": "2026-11-25T08:00:00Z/2026-11-25T11:00:00Z", "granularity": "PT1H",
            "groupBy": group_by, "filter": filter, "metrics": ["nOffered", "tHandle"]})
    };
    let predicate = json!({"type": "and", "predicates": [
        {"type": "metric", "metric": "nOffered", "range": {"gte": 2}}]});
    let groupings = [
        (json!(["queueId", "mediaType"]), Value::Null),
        (json!(["mediaType", "queueId"]), predicate.clone()),
        (json!(["mediaType", "direction"]), Value::Null),
        (json!(["wrapUpCode"]), Value::Null),
        (json!(["userId"]), predicate),
    ];
    let ungrouped = run_json(&w, body(json!([]), Value::Null));
    for (group_by, filter) in groupings {
        let q = query(&w, body(group_by.clone(), filter.clone())).unwrap();
        let whole = run(&w, &q, FAR_FUTURE);
        if filter.is_null() {
            assert_eq!(
                total(&whole, "nOffered", "count"),
                total(&ungrouped, "nOffered", "count"),
                "{group_by}"
            );
        }
        let whole = whole["results"].as_array().unwrap().clone();
        let mut keys = Vec::new();
        for_each_result(&w, &q, FAR_FUTURE, None, |key, _| {
            keys.push(key);
            ControlFlow::Continue(())
        });
        assert_eq!(keys.len(), whole.len(), "{group_by}");
        assert!(keys.is_sorted(), "{group_by}");
        for (i, key) in keys.iter().enumerate().step_by(5) {
            let mut tail = Vec::new();
            for_each_result(&w, &q, FAR_FUTURE, Some(key), |_, result| {
                tail.push(result);
                // A page stops early: three results are enough.
                if tail.len() == 3 {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            let expected = &whole[i..whole.len().min(i + 3)];
            assert_eq!(tail, expected, "{group_by} from result {i}");
        }
    }
}
