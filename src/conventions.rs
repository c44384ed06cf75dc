//! Small conventions shared across the exporter: Prometheus names from Genesys names,
//! the labels the exporter reserves for itself, sizes in bytes as users write them.
//!
//! They live here, below everything that uses them, so that config, mapping, the
//! command line and the simulator agree without importing each other.

/// Labels the exporter adds itself (`qualifier` when Genesys sends one with a metric); a
/// `group_by` dimension whose label would have the same name would clash with them and
/// make a series with a repeated label, which Prometheus refuses.
/// The name labels are those of `genesys::names` (a test there keeps the two lists equal).
pub const RESERVED_LABELS: [&str; 14] = [
    "query",
    "interval",
    "queue_name",
    "user_name",
    "wrap_up_code_name",
    "division_name",
    "requested_routing_skill_name",
    "requested_language_name",
    "team_name",
    "outbound_campaign_name",
    "flow_name",
    "flow_outcome_name",
    "presence_name",
    "qualifier",
];

/// Converts a Genesys camelCase name into the snake_case used for Prometheus labels and
/// metric names: `queueId` -> `queue_id`, `nOverSla` -> `n_over_sla`,
/// `tAgentResponseTime` -> `t_agent_response_time`.
///
/// A run of capitals is one word (`queueID` -> `queue_id`, `SLAValue` -> `sla_value`), so
/// two spellings of one name map to the same label; the config rejects such pairs.
pub fn snake_case(camel: &str) -> String {
    let chars: Vec<char> = camel.chars().collect();
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let previous = i.checked_sub(1).and_then(|p| chars.get(p));
            let next = chars.get(i + 1);
            let starts_word = match previous {
                None => false,
                Some(p) if p.is_lowercase() || p.is_ascii_digit() => true,
                Some(p) if p.is_uppercase() => next.is_some_and(|n| n.is_lowercase()),
                Some(_) => false,
            };
            if starts_word && !out.ends_with('_') {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A size in bytes: a whole number, optionally followed by `KiB`, `MiB` or `GiB`.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => text.split_at(at),
        None => (text, ""),
    };
    let factor: usize = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?}; use KiB, MiB or GiB")),
    };
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(factor))
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is not a positive size in bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_examples() {
        let cases = [
            ("queueId", "queue_id"),
            ("nOverSla", "n_over_sla"),
            ("countNegative", "count_negative"),
            ("tAgentResponseTime", "t_agent_response_time"),
            ("requestedRoutingSkillId", "requested_routing_skill_id"),
            ("mediaType", "media_type"),
            ("direction", "direction"),
            ("oServiceLevel", "o_service_level"),
            ("nOffered", "n_offered"),
            ("p95", "p95"),
            ("queueID", "queue_id"),
            ("nOverSLA", "n_over_sla"),
            ("SLAValue", "sla_value"),
            ("sessionDnis", "session_dnis"),
            ("convertedFrom2nd", "converted_from2nd"),
            ("a1B", "a1_b"),
            ("already_snake", "already_snake"),
            ("", ""),
            ("X", "x"),
        ];
        for (camel, snake) in cases {
            assert_eq!(snake_case(camel), snake, "{camel}");
        }
        for name in RESERVED_LABELS {
            assert_eq!(snake_case(name), name);
        }
    }

    #[test]
    fn sizes_take_binary_suffixes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("8MiB"), Ok(8 << 20));
        assert_eq!(parse_size("2 GiB"), Ok(2 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("5MB").unwrap_err().contains("MB"));
        assert!(parse_size("lots").is_err());
    }
}
