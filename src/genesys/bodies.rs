//! Request and response bodies of the Genesys Cloud API, as the real API writes them.
//!
//! Parsing is deliberately lenient: the API adds fields as it evolves, omits what has no
//! data, and one odd value must not cost a whole query its data. Unknown fields are
//! ignored, a stat that is not a finite number is skipped and counted, and a `null`
//! where a list or object belongs reads as empty.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Body of `POST /api/v2/analytics/conversations/aggregates/query`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AggregateQuery<'a> {
    /// ISO-8601 `start/end`.
    pub interval: String,
    /// ISO-8601 duration of one bucket; empty (left out) for one bucket over the whole
    /// interval.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub granularity: String,
    /// IANA zone the buckets align to.
    pub time_zone: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub group_by: &'a [String],
    pub metrics: &'a [String],
    /// Written into the body as is: a config's filter is turned into JSON once, at
    /// load time (see [`crate::config::filter`]), not at every poll.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<&'a serde_json::value::RawValue>,
}

/// Response of the aggregates query: one result per group.
#[derive(Debug, Default, Deserialize)]
pub struct AggregateResponse {
    /// Absent when nothing happened at all in the interval.
    #[serde(default, deserialize_with = "null_as_default")]
    pub results: Vec<AggregateResult>,
}

/// One group (a combination of `groupBy` values) and its buckets.
#[derive(Debug, Default, Deserialize)]
pub struct AggregateResult {
    /// Dimension name to value; a dimension may be missing (no `userId` on an abandon).
    #[serde(default, deserialize_with = "null_as_default")]
    pub group: BTreeMap<String, GroupValue>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub data: Vec<AggregateBucket>,
}

/// One bucket of one group. Present only when it has data.
#[derive(Debug, Default, Deserialize)]
pub struct AggregateBucket {
    /// ISO-8601 `start/end` of the bucket.
    #[serde(default, deserialize_with = "null_as_default")]
    pub interval: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub metrics: Vec<MetricEntry>,
}

/// The stats of one metric in one bucket. Present only when the metric has data.
#[derive(Debug, Default, Deserialize)]
pub struct MetricEntry {
    #[serde(default, deserialize_with = "null_as_default")]
    pub metric: String,
    /// Some metrics split by a qualifier (for example a media type); usually absent.
    #[serde(default)]
    pub qualifier: Option<String>,
    #[serde(default)]
    pub stats: Stats,
}

/// A group value. Genesys writes strings; multi-valued dimensions may arrive as arrays
/// and some as numbers, which are flattened the way `flattenMultivaluedDimensions` would.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupValue(pub String);

impl<'de> Deserialize<'de> for GroupValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A visitor rather than a `serde_json::Value`: a string, the common case, costs
        // the raw text (below) and the string itself, not a tree of values.
        struct GroupValueVisitor;

        impl<'de> Visitor<'de> for GroupValueVisitor {
            type Value = GroupValue;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a dimension value")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<GroupValue, E> {
                Ok(GroupValue(value.to_string()))
            }

            fn visit_string<E: de::Error>(self, value: String) -> Result<GroupValue, E> {
                Ok(GroupValue(value))
            }

            fn visit_unit<E: de::Error>(self) -> Result<GroupValue, E> {
                Ok(GroupValue::default())
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<GroupValue, E> {
                Ok(GroupValue(value.to_string()))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<GroupValue, E> {
                Ok(GroupValue(value.to_string()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<GroupValue, E> {
                Ok(GroupValue(value.to_string()))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<GroupValue, E> {
                // Written as serde_json writes the number, as before.
                Ok(GroupValue(serde_json::Value::from(value).to_string()))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<GroupValue, A::Error> {
                let mut parts = Vec::new();
                while let Some(GroupValue(part)) = items.next_element()? {
                    parts.push(part);
                }
                Ok(GroupValue(parts.join(",")))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GroupValue, A::Error> {
                // Never seen in practice; kept as its JSON text.
                let value =
                    serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(GroupValue(value.to_string()))
            }
        }

        // Taken raw first, like stats: a number beyond f64 (`1e400`) must not fail the
        // whole response; such a value keeps its text as the label.
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        let mut reader = serde_json::Deserializer::from_str(raw.get());
        Ok(match reader.deserialize_any(GroupValueVisitor) {
            Ok(value) => value,
            Err(_) => GroupValue(raw.get().to_string()),
        })
    }
}

/// The stat names the API documents. A stat name is looked up here so that the usual
/// ones cost no allocation per stat; a name the API adds later is kept as its own string.
const KNOWN_STATS: [&str; 14] = [
    "count",
    "sum",
    "max",
    "min",
    "ratio",
    "numerator",
    "denominator",
    "target",
    "current",
    "countNegative",
    "countPositive",
    "p95",
    "p99",
    "calculatedMetricValue",
];

/// The name of one stat: one of [`KNOWN_STATS`] (borrowed) or a newer one (owned).
pub type StatName = Cow<'static, str>;

/// The numeric stats of one metric entry (`count`, `sum`, `max`, `ratio`, ...), in the
/// order the API wrote them. Stats whose value is not a finite number are left out and
/// counted in `skipped`, so the caller can warn without failing the poll.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    pub values: Vec<(StatName, f64)>,
    pub skipped: u32,
}

impl Stats {
    /// The value of one stat, if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values
            .iter()
            .find(|(stat, _)| stat == name)
            .map(|(_, value)| *value)
    }
}

impl<'de> Deserialize<'de> for Stats {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StatsVisitor;

        impl<'de> Visitor<'de> for StatsVisitor {
            type Value = Stats;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of numeric stats")
            }

            fn visit_unit<E: de::Error>(self) -> Result<Stats, E> {
                Ok(Stats::default())
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Stats, A::Error> {
                let mut stats = Stats::default();
                while let Some(StatKey(name)) = map.next_key()? {
                    match map.next_value::<StatValue>()?.0 {
                        Some(value) if value.is_finite() => stats.values.push((name, value)),
                        _ => stats.skipped += 1,
                    }
                }
                Ok(stats)
            }
        }

        deserializer.deserialize_any(StatsVisitor)
    }
}

/// A stat name, read without allocating when it is a known one.
struct StatKey(StatName);

impl<'de> Deserialize<'de> for StatKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl Visitor<'_> for KeyVisitor {
            type Value = StatKey;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a stat name")
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<StatKey, E> {
                Ok(StatKey(
                    match KNOWN_STATS.iter().find(|&&known| known == name) {
                        Some(known) => Cow::Borrowed(known),
                        None => Cow::Owned(name.to_string()),
                    },
                ))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A stat value: `Some` for a number, `None` for anything else (a string, `null`, a
/// list...).
///
/// Taken raw, then read as a number on its own: serde_json refuses a number beyond f64
/// (`1e400`) with an error that would fail the whole response, where only this stat
/// should be skipped. Reading with serde_json, not `str::parse`, keeps its exact
/// rounding, so a value reads the same here as anywhere else the body is parsed.
struct StatValue(Option<f64>);

impl<'de> Deserialize<'de> for StatValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(deserializer)?;
        Ok(StatValue(serde_json::from_str::<f64>(raw.get()).ok()))
    }
}

/// `null` reads as the empty value, as if the field were absent.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Genesys' error body (`ErrorBody`); every field is optional in practice.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub context_id: Option<String>,
}

/// The OAuth server's answer to a token request.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

/// The OAuth server's error body.
#[derive(Debug, Default, Deserialize)]
pub struct TokenErrorBody {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// One page of a Genesys listing (`/api/v2/routing/queues`, `/api/v2/users`, ...).
/// Entities stay raw JSON, each read on its own, so that one malformed entity is
/// skipped (and counted), not the whole page refused; raw, not `Value`, because a page
/// of 500 queues is mostly fields the exporter never reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListingPage {
    #[serde(default, deserialize_with = "null_as_default")]
    pub entities: Vec<Box<serde_json::value::RawValue>>,
    /// The page size the API used, which may be less than asked for.
    #[serde(default)]
    pub page_size: Option<u32>,
    #[serde(default)]
    pub page_count: Option<u32>,
    /// Absent on the last page; for cursor listings (`/api/v2/teams`) it carries the
    /// `after` cursor of the next page.
    #[serde(default)]
    pub next_uri: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_response() {
        let body = r#"{"results": [
          {"group": {"queueId": "0b7c", "mediaType": "voice"},
           "data": [
             {"interval": "2026-11-25T12:00:00.000Z/2026-11-25T12:30:00.000Z",
              "metrics": [
                {"metric": "nOffered", "stats": {"count": 42}},
                {"metric": "tHandle", "stats": {"max": 1203344, "min": 30211, "count": 37, "sum": 11874102}},
                {"metric": "oServiceLevel", "stats": {"ratio": 0.81, "numerator": 30, "denominator": 37, "target": 0.8}}]}]}]}"#;
        let response: AggregateResponse = serde_json::from_str(body).unwrap();
        let result = &response.results[0];
        assert_eq!(result.group["queueId"], GroupValue("0b7c".into()));
        let metrics = &result.data[0].metrics;
        assert_eq!(metrics[0].stats.get("count"), Some(42.0));
        assert_eq!(metrics[1].stats.get("sum"), Some(11874102.0));
        assert_eq!(metrics[2].stats.get("ratio"), Some(0.81));
        assert_eq!(metrics[2].stats.get("p99"), None);
    }

    #[test]
    fn absent_or_null_results_mean_no_data() {
        let empty: AggregateResponse = serde_json::from_str("{}").unwrap();
        assert!(empty.results.is_empty());
        let null: AggregateResponse = serde_json::from_str(r#"{"results": null}"#).unwrap();
        assert!(null.results.is_empty());
    }

    #[test]
    fn unknown_fields_and_odd_values_are_tolerated() {
        let body = r#"{"results": [{"group": {"wrapUpCode": ["a", "b"], "n": 7, "x": null},
            "newField": 1,
            "data": [{"interval": "i", "metrics": [
               {"metric": "tTalk", "stats": {"sum": 10, "max": null, "min": "x", "count": 1, "future": 2}}]}]}]}"#;
        let response: AggregateResponse = serde_json::from_str(body).unwrap();
        let result = &response.results[0];
        assert_eq!(result.group["wrapUpCode"].0, "a,b");
        assert_eq!(result.group["n"].0, "7");
        assert_eq!(result.group["x"].0, "");
        let stats = &result.data[0].metrics[0].stats;
        assert_eq!(
            stats.values,
            vec![
                (StatName::from("sum"), 10.0),
                (StatName::from("count"), 1.0),
                (StatName::from("future".to_string()), 2.0)
            ]
        );
        assert_eq!(stats.skipped, 2);
    }

    #[test]
    fn nulls_and_numbers_beyond_f64_elsewhere_are_tolerated() {
        let body = r#"{"results": [{"group": {"queueId": 1e400, "userId": [1, -1e400]},
            "newField": {"deep": [1e400]},
            "data": [{"interval": null, "metrics": [
               {"metric": null, "qualifier": null, "stats": null}]}]}]}"#;
        let response: AggregateResponse = serde_json::from_str(body).unwrap();
        let result = &response.results[0];
        assert_eq!(result.group["queueId"].0, "1e400");
        // Each element is read on its own, so only the odd one keeps its text.
        assert_eq!(result.group["userId"].0, "1,-1e400");
        assert_eq!(result.data[0].interval, "");
        assert_eq!(result.data[0].metrics[0].metric, "");
    }

    #[test]
    fn numbers_beyond_f64_skip_one_stat_not_the_response() {
        let body = r#"{"results": [{"data": [{"metrics": [{"metric": "tHandle",
            "stats": {"sum": 1e400, "min": -1e400, "max": 1.7976931348623157e308,
                      "count": 123456789012345678901234567890, "p95": "1e3", "p99": 2E-3}}]}]}]}"#;
        let response: AggregateResponse = serde_json::from_str(body).unwrap();
        let stats = &response.results[0].data[0].metrics[0].stats;
        assert_eq!(
            stats.values,
            vec![
                (StatName::from("max"), f64::MAX),
                (StatName::from("count"), 1.2345678901234568e29),
                (StatName::from("p99"), 0.002)
            ]
        );
        assert_eq!(stats.skipped, 3);
        // The same from a serde_json::Value, as the mapping tests build responses.
        let from_value: AggregateResponse =
            serde_json::from_value(serde_json::json!({"results": [{"data": [{"metrics": [
                {"metric": "nOffered", "stats": {"count": 4, "x": "y"}}]}]}]}))
            .unwrap();
        let stats = &from_value.results[0].data[0].metrics[0].stats;
        assert_eq!(stats.values, vec![(StatName::from("count"), 4.0)]);
        assert_eq!(stats.skipped, 1);
    }

    #[test]
    fn stat_values_that_are_lists_or_objects_are_skipped_whole() {
        let body = r#"{"results": [{"data": [{"metrics": [{"metric": "oX", "stats":
            {"a": [1, [2, {"b": 3}]], "count": 4, "c": {"d": [5], "e": null}, "d": true,
             "p9\u0035": 6}}]}]}]}"#;
        let response: AggregateResponse = serde_json::from_str(body).unwrap();
        let stats = &response.results[0].data[0].metrics[0].stats;
        assert_eq!(
            stats.values,
            vec![(StatName::from("count"), 4.0), (StatName::from("p95"), 6.0)]
        );
        assert_eq!(stats.skipped, 3);
    }

    #[test]
    fn query_serializes_in_camel_case_without_empty_parts() {
        let metrics = vec!["nOffered".to_string()];
        let query = AggregateQuery {
            interval: "a/b".into(),
            granularity: "PT30M".into(),
            time_zone: "UTC",
            group_by: &[],
            metrics: &metrics,
            filter: None,
        };
        let json = serde_json::to_value(&query).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"interval": "a/b", "granularity": "PT30M", "timeZone": "UTC", "metrics": ["nOffered"]})
        );
    }
}
