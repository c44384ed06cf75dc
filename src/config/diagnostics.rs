//! Messages a user can act on when a config file is broken: YAML errors rewritten to
//! name the file, the query and the field, typo hints for keys and time zones, and the
//! lenient pass that recovers query names from a file broken elsewhere.

use std::fmt;

use serde::Deserialize;

use super::{ConfigError, is_valid_name};
use crate::conventions::snake_case;
use crate::genesys::catalog::edit_distance;

/// Just the query names, from a file that may be broken elsewhere.
#[derive(Deserialize)]
pub(super) struct NamesOnly {
    #[serde(default)]
    pub(super) queries: Option<Vec<NameOnly>>,
}

/// The `name` of one query if it is a plain string given once; anything else in the
/// item, whatever its shape, is skipped without error.
pub(super) struct NameOnly(Option<String>);

impl NameOnly {
    pub(super) fn into_name(self) -> Option<String> {
        self.0
    }
}

impl<'de> Deserialize<'de> for NameOnly {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NameOnlyVisitor)
    }
}

struct NameOnlyVisitor;

impl<'de> serde::de::Visitor<'de> for NameOnlyVisitor {
    type Value = NameOnly;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("anything")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<NameOnly, A::Error> {
        let mut name = None;
        let mut count = 0;
        while let Some(key) = map.next_key::<serde_yaml_ng::Value>()? {
            if key.as_str() == Some("name") {
                count += 1;
                name = map
                    .next_value::<serde_yaml_ng::Value>()?
                    .as_str()
                    .map(str::to_string);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(NameOnly(if count == 1 { name } else { None }))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<NameOnly, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(NameOnly(None))
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<NameOnly, A::Error> {
        use serde::de::VariantAccess;
        let (_, variant) = data.variant::<serde::de::IgnoredAny>()?;
        variant.newtype_variant::<serde::de::IgnoredAny>()?;
        Ok(NameOnly(None))
    }

    fn visit_bool<E>(self, _: bool) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_unit<E>(self) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }

    fn visit_none<E>(self) -> Result<NameOnly, E> {
        Ok(NameOnly(None))
    }
}

/// How messages name a query: by name when it has a usable one, else by position.
pub(super) fn query_label(index: usize, name: Option<&str>) -> String {
    match name {
        Some(name) if is_valid_name(name) => format!("query {name:?}"),
        _ => format!("queries[{index}]"),
    }
}

/// The known zone name nearest to `text`: same letters in another case, or at most two
/// edits away. Short inputs get fewer edits (one per three characters), or every
/// two-letter zone such as "GB" would be suggested for `5` or `x`.
pub(super) fn closest_zone(text: &str) -> Option<&'static str> {
    let wanted = text.to_ascii_lowercase();
    if wanted.is_empty() || wanted.len() > 64 {
        return None;
    }
    let allowed = (wanted.chars().count() / 3).min(2);
    chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name())
        .map(|name| (edit_distance(&wanted, &name.to_ascii_lowercase()), name))
        .filter(|&(distance, _)| distance <= allowed)
        .min_by_key(|&(distance, name)| (distance, name.len()))
        .map(|(_, name)| name)
}

/// Turns a YAML parser error into a message naming the file, position, query and field.
///
/// serde_yaml_ng reports where it failed as a path prefix such as `queries[2].metrics: `
/// in front of its message; that prefix is replaced by the query's name (looked up in
/// `names`, the query names read leniently) and the field.
pub(super) fn syntax_error(
    origin: &str,
    error: &serde_yaml_ng::Error,
    names: &[Option<String>],
) -> ConfigError {
    let location = error.location().map(|l| (l.line(), l.column()));
    let mut message = error.to_string();
    if let Some((line, column)) = location {
        let suffix = format!(" at line {line} column {column}");
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_string();
        }
    }
    let mut query = None;
    let mut field = None;
    if let Some((path, rest)) = split_path(&message) {
        let (index, query_field) = parse_query_path(path);
        if let Some(index) = index {
            let name = names.get(index).and_then(Option::as_deref);
            query = Some(query_label(index, name));
            field = query_field.filter(|f| !f.is_empty()).map(str::to_string);
        } else {
            field = Some(path.to_string());
        }
        message = rest.to_string();
    }
    // Name the offending key as the field, and say "key" as a YAML user would.
    if let Some(key) = quoted_after(&message, "unknown field `", '`') {
        let allowed = message.split_once(", ").map_or("", |(_, a)| a).to_string();
        let hint = match known_key_like(&key, field.is_some() || query.is_some()) {
            Some(known) => format!(" (did you mean `{known}`?)"),
            None => String::new(),
        };
        field = Some(join_field(field.as_deref(), &key));
        message = format!("unknown key{hint}; {allowed}");
    } else if let Some(key) = quoted_after(&message, "duplicate entry with key \"", '"')
        .or_else(|| quoted_after(&message, "duplicate field `", '`'))
    {
        field = Some(join_field(field.as_deref(), &key));
        message = "appears twice in the same mapping; keep one".to_string();
    }
    message = message.replace(
        "expected a sequence",
        "expected a list ([a, b] or one `- item` per line)",
    );
    ConfigError::Syntax {
        origin: origin.into(),
        location,
        query,
        field,
        message,
    }
}

/// Keys of a query mapping, for typo hints (serde lists them in its own message).
const QUERY_KEYS: [&str; 12] = [
    "name",
    "source",
    "granularity",
    "time_zone",
    "settle_delay",
    "refresh",
    "group_by",
    "metrics",
    "filter",
    "period",
    "max_predicates_per_request",
    "allow_unlisted",
];

/// The known key that an unknown `key` was probably meant to be: its snake_case form
/// (`groupBy` -> `group_by`), a near miss (`querys` -> `queries`), or a shared start
/// (`query` -> `queries`, `settle` -> `settle_delay`).
pub(super) fn known_key_like(key: &str, in_query: bool) -> Option<&'static str> {
    let known: &[&'static str] = if in_query {
        &QUERY_KEYS
    } else {
        &["queries", "observations", "trunks", "voice_quality"]
    };
    let snake = snake_case(key).replace('-', "_");
    let common_prefix = |k: &str| {
        snake
            .chars()
            .zip(k.chars())
            .take_while(|(a, b)| a == b)
            .count()
    };
    known
        .iter()
        .map(|&k| (edit_distance(&snake, k), k))
        .filter(|&(distance, k)| distance <= 2 || common_prefix(k) >= 4)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, k)| k)
}

/// The text between `prefix` (at the start of `message`) and the next `end`.
fn quoted_after(message: &str, prefix: &str, end: char) -> Option<String> {
    let rest = message.strip_prefix(prefix)?;
    rest.split_once(end).map(|(key, _)| key.to_string())
}

/// `filter` + `a` -> `filter.a`; no parent -> `a`.
fn join_field(parent: Option<&str>, key: &str) -> String {
    match parent {
        Some(parent) => format!("{parent}.{key}"),
        None => key.to_string(),
    }
}

/// Splits `queries[0].name: invalid type...` into the path and the rest, if the message
/// starts with a path into the config's known structure.
fn split_path(message: &str) -> Option<(&str, &str)> {
    let (path, rest) = message.split_once(": ")?;
    let known = path == "queries"
        || path.starts_with("queries[")
        || path.starts_with("queries.")
        || path.starts_with("observations")
        || path.starts_with("trunks")
        || path.starts_with("voice_quality");
    known.then_some((path, rest))
}

/// `queries[2].group_by[1]` -> `(Some(2), Some("group_by[1]"))`.
fn parse_query_path(path: &str) -> (Option<usize>, Option<&str>) {
    let Some(rest) = path.strip_prefix("queries[") else {
        return (None, None);
    };
    let Some((digits, after)) = rest.split_once(']') else {
        return (None, None);
    };
    let Ok(index) = digits.parse::<usize>() else {
        return (None, None);
    };
    (Some(index), after.strip_prefix('.'))
}
