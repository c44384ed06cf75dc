//! One catalogue-driven generator for the sources whose values nothing else must agree
//! with: bots, data actions, surveys, evaluations, transcripts and rate limits.
//!
//! A source is a [`Profile`]: the things its volume is per (bots, data actions, limits,
//! each with its dimension values), the dimensions that split that volume (queues, users,
//! media types, error types, each value with its share) and one [`Rule`] per metric. A
//! query is cut into cells, one per entity and combination of the splitting dimensions it
//! groups or filters by; a cell's numbers in a bucket come from a hash of (seed, source,
//! metric, cell, bucket), scaled by the bucket's length and the org's daily load:
//! - `n` metrics are counts; a count can be a share of an earlier one, so surveys keep
//!   NPS promoters + detractors <= NPS responses <= responses <= sent;
//! - `t` metrics are timers in ms, `{max, min, count, sum}`;
//! - `o` metrics are `StatisticalSummary` values `{count, sum, min, max}` within their
//!   bounds (scores within 0..100, sentiment within -100..100).
//!
//! Dimensions a profile does not give values to are valid and have none.

use super::flows::flow_ids;
use super::{Stat, Tally};
use crate::world::{World, hash, poisson, unit};

const TAG_GENERIC: u64 = 20;
const HOUR_MS: f64 = 3_600_000.0;
const MINUTE_MS: i64 = 60_000;
/// The share of the peak volume a profile that follows the load keeps when the org is
/// quiet.
const NIGHT_FLOOR: f64 = 0.4;

/// Where a splitting dimension's values come from.
#[derive(Clone, Copy)]
enum Values {
    /// Fixed values with their share of the volume; `None`: the dimension is absent
    /// there (data actions without an error have no `errorType`).
    Shares(&'static [(Option<&'static str>, f64)]),
    /// The org's queues: each has the whole rate (volumes are per queue).
    Queues,
    /// The org's users, divisions or flows: each an equal share.
    Users,
    Divisions,
    Flows,
}

/// How many measurements of a metric a cell has in a bucket.
#[derive(Clone, Copy)]
enum Volume {
    /// So many an hour at a weekday peak, per entity.
    PerHour(f64),
    /// A share (between the two) of an earlier rule's count; over 1, so many per.
    Of(&'static str, f64, f64),
    /// A share of what the first earlier rule counted and the second did not.
    OfRest(&'static str, &'static str, f64, f64),
}

/// One metric of a profile.
struct Rule {
    metric: &'static str,
    volume: Volume,
    /// The bounds of one measurement (ms for timers), and the range a cell's mean is
    /// drawn from.
    bounds: (f64, f64),
    typical: (f64, f64),
}

const fn count(metric: &'static str, volume: Volume) -> Rule {
    Rule {
        metric,
        volume,
        bounds: (0.0, 0.0),
        typical: (0.0, 0.0),
    }
}

const fn measured(
    metric: &'static str,
    volume: Volume,
    bounds: (f64, f64),
    typical: (f64, f64),
) -> Rule {
    Rule {
        metric,
        volume,
        bounds,
        typical,
    }
}

/// One source's synthetic data.
struct Profile {
    segment: &'static str,
    /// The things volume is per, each with its weight and dimension values.
    entities: &'static [(f64, &'static [(&'static str, &'static str)])],
    /// Dimensions that split the volume.
    splits: &'static [(&'static str, Values)],
    /// In the order counts are drawn: a share's base comes before it.
    rules: &'static [Rule],
    /// Busier in business hours (rate-limit events are not).
    follows_load: bool,
}

const NO_ENTITY: &[(f64, &[(&str, &str)])] = &[(1.0, &[])];
const MEDIA: Values = Values::Shares(&[
    (Some("voice"), 0.6),
    (Some("message"), 0.25),
    (Some("email"), 0.15),
]);
const QUEUE_SPLITS: &[(&str, Values)] = &[
    ("queueId", Values::Queues),
    ("userId", Values::Users),
    ("divisionId", Values::Divisions),
    ("mediaType", MEDIA),
];
const SECOND: f64 = 1_000.0;

const PROFILES: &[Profile] = &[
    Profile {
        segment: "bots",
        entities: &[
            (
                1.0,
                &[
                    ("botName", "Billing assistant"),
                    ("botFlowType", "DIGITALBOT"),
                ],
            ),
            (
                0.6,
                &[
                    ("botName", "Asistente «Ventas»"),
                    ("botFlowType", "DIGITALBOT"),
                ],
            ),
            (
                0.4,
                &[
                    ("botName", "Password reset \"self-service\""),
                    ("botFlowType", "BOT"),
                ],
            ),
        ],
        splits: &[
            (
                "mediaType",
                Values::Shares(&[(Some("voice"), 0.55), (Some("message"), 0.45)]),
            ),
            (
                "languageCode",
                Values::Shares(&[
                    (Some("en-us"), 0.7),
                    (Some("fr-fr"), 0.2),
                    (Some("es-us"), 0.1),
                ]),
            ),
        ],
        rules: &[
            count("nBotSessions", Volume::PerHour(40.0)),
            count("nBotSessionTurns", Volume::Of("nBotSessions", 2.0, 5.0)),
            measured(
                "tBotSession",
                Volume::Of("nBotSessions", 1.0, 1.0),
                (5.0 * SECOND, 900.0 * SECOND),
                (40.0 * SECOND, 150.0 * SECOND),
            ),
            measured(
                "tBotRecognitionFailure",
                Volume::Of("nBotSessions", 0.15, 0.3),
                (1.0 * SECOND, 60.0 * SECOND),
                (4.0 * SECOND, 15.0 * SECOND),
            ),
            measured(
                "tBotExit",
                Volume::Of("nBotSessions", 0.3, 0.6),
                (5.0 * SECOND, 900.0 * SECOND),
                (40.0 * SECOND, 150.0 * SECOND),
            ),
            measured(
                "tBotDisconnect",
                Volume::OfRest("nBotSessions", "tBotExit", 0.3, 0.6),
                (2.0 * SECOND, 900.0 * SECOND),
                (20.0 * SECOND, 120.0 * SECOND),
            ),
        ],
        follows_load: true,
    },
    Profile {
        segment: "actions",
        entities: &[
            (
                1.0,
                &[
                    ("actionName", "Get account balance"),
                    ("actionCategory", "Salesforce"),
                    ("integrationName", "Salesforce – production"),
                ],
            ),
            (
                0.6,
                &[
                    ("actionName", "Créer un ticket"),
                    ("actionCategory", "ServiceNow"),
                    ("integrationName", "ServiceNow"),
                ],
            ),
            (
                0.4,
                &[
                    ("actionName", "Lookup \"VIP\" status"),
                    ("actionCategory", "Web Services Data Actions"),
                    ("integrationName", "CRM web services"),
                ],
            ),
        ],
        splits: &[(
            "errorType",
            Values::Shares(&[
                (None, 1.0),
                (Some("TIMEOUT"), 0.06),
                (Some("SERVER_ERROR"), 0.03),
            ]),
        )],
        rules: &[measured(
            "tTotalExecution",
            Volume::PerHour(120.0),
            (40.0, 30.0 * SECOND),
            (150.0, 1_500.0),
        )],
        follows_load: true,
    },
    Profile {
        segment: "surveys",
        entities: NO_ENTITY,
        splits: QUEUE_SPLITS,
        rules: &[
            count("nSurveysSent", Volume::PerHour(20.0)),
            count("nVoiceSurveys", Volume::Of("nSurveysSent", 0.5, 0.7)),
            count(
                "nWebSurveys",
                Volume::OfRest("nSurveysSent", "nVoiceSurveys", 0.8, 1.0),
            ),
            count("nSurveysStarted", Volume::Of("nSurveysSent", 0.4, 0.7)),
            count(
                "nSurveysAbandoned",
                Volume::OfRest("nSurveysSent", "nSurveysStarted", 0.1, 0.3),
            ),
            count(
                "nSurveyResponses",
                Volume::Of("nSurveysStarted", 0.75, 0.95),
            ),
            count(
                "nSurveyFullResponses",
                Volume::Of("nSurveyResponses", 0.8, 1.0),
            ),
            count(
                "nSurveyPartialResponses",
                Volume::OfRest("nSurveyResponses", "nSurveyFullResponses", 1.0, 1.0),
            ),
            count(
                "nSurveyNpsResponses",
                Volume::Of("nSurveyResponses", 0.7, 1.0),
            ),
            count(
                "nSurveyNpsPromoters",
                Volume::Of("nSurveyNpsResponses", 0.35, 0.6),
            ),
            count(
                "nSurveyNpsDetractors",
                Volume::OfRest("nSurveyNpsResponses", "nSurveyNpsPromoters", 0.3, 0.6),
            ),
            measured(
                "oSurveyTotalScore",
                Volume::Of("nSurveyResponses", 1.0, 1.0),
                (0.0, 100.0),
                (55.0, 85.0),
            ),
            measured(
                "oSurveyQuestionScore",
                Volume::Of("nSurveyResponses", 2.0, 4.0),
                (0.0, 10.0),
                (6.0, 8.5),
            ),
        ],
        follows_load: true,
    },
    Profile {
        segment: "evaluations",
        entities: NO_ENTITY,
        splits: QUEUE_SPLITS,
        rules: &[
            count("nEvaluations", Volume::PerHour(3.0)),
            count("nEvaluationsRescored", Volume::Of("nEvaluations", 0.0, 0.1)),
            count("nEvaluationsDeleted", Volume::Of("nEvaluations", 0.0, 0.03)),
            measured(
                "oTotalScore",
                Volume::Of("nEvaluations", 1.0, 1.0),
                (0.0, 100.0),
                (70.0, 92.0),
            ),
            measured(
                "oTotalCriticalScore",
                Volume::Of("nEvaluations", 1.0, 1.0),
                (0.0, 100.0),
                (80.0, 98.0),
            ),
        ],
        follows_load: true,
    },
    Profile {
        segment: "transcripts",
        entities: NO_ENTITY,
        splits: &[
            ("queueId", Values::Queues),
            ("userId", Values::Users),
            ("divisionId", Values::Divisions),
            ("flowId", Values::Flows),
            (
                "mediaType",
                Values::Shares(&[(Some("voice"), 0.8), (Some("message"), 0.2)]),
            ),
            (
                "direction",
                Values::Shares(&[(Some("inbound"), 0.85), (Some("outbound"), 0.15)]),
            ),
        ],
        rules: &[
            count("nSpeechTextAnalyzedConversations", Volume::PerHour(25.0)),
            count(
                "nTopicCommunications",
                Volume::Of("nSpeechTextAnalyzedConversations", 0.4, 0.9),
            ),
            measured(
                "oSentimentScore",
                Volume::Of("nSpeechTextAnalyzedConversations", 1.0, 1.0),
                (-100.0, 100.0),
                (5.0, 45.0),
            ),
            measured(
                "oCustomerSentiment",
                Volume::Of("nSpeechTextAnalyzedConversations", 1.0, 1.0),
                (-100.0, 100.0),
                (-10.0, 30.0),
            ),
            measured(
                "tAgentSpeech",
                Volume::Of("nSpeechTextAnalyzedConversations", 1.0, 1.0),
                (5.0 * SECOND, 1_200.0 * SECOND),
                (90.0 * SECOND, 200.0 * SECOND),
            ),
            measured(
                "tCustomerSpeech",
                Volume::Of("nSpeechTextAnalyzedConversations", 1.0, 1.0),
                (5.0 * SECOND, 1_200.0 * SECOND),
                (60.0 * SECOND, 180.0 * SECOND),
            ),
            measured(
                "tSilence",
                Volume::Of("nSpeechTextAnalyzedConversations", 1.0, 1.0),
                (1.0 * SECOND, 300.0 * SECOND),
                (10.0 * SECOND, 60.0 * SECOND),
            ),
            measured(
                "tOverTalkSpeech",
                Volume::Of("nSpeechTextAnalyzedConversations", 0.3, 0.7),
                (0.5 * SECOND, 60.0 * SECOND),
                (2.0 * SECOND, 8.0 * SECOND),
            ),
            measured(
                "oOverTalkSpeechInstances",
                Volume::Of("nSpeechTextAnalyzedConversations", 0.3, 0.7),
                (1.0, 20.0),
                (1.0, 4.0),
            ),
            measured(
                "tOtherAudio",
                Volume::Of("nSpeechTextAnalyzedConversations", 0.1, 0.3),
                (1.0 * SECOND, 120.0 * SECOND),
                (3.0 * SECOND, 10.0 * SECOND),
            ),
            measured(
                "tTotalSpeechAndSilence",
                Volume::Of("nSpeechTextAnalyzedConversations", 1.0, 1.0),
                (30.0 * SECOND, 2_400.0 * SECOND),
                (200.0 * SECOND, 420.0 * SECOND),
            ),
        ],
        follows_load: true,
    },
    Profile {
        segment: "ratelimits",
        entities: &[
            (
                1.0,
                &[
                    ("limitName", "token.rate.per.minute"),
                    ("namespace", "platform.api"),
                    ("timeUnit", "minute"),
                    ("max", "300"),
                ],
            ),
            (
                0.5,
                &[
                    ("limitName", "org.app.user.rate.per.minute"),
                    ("namespace", "platform.api"),
                    ("timeUnit", "minute"),
                    ("max", "3000"),
                ],
            ),
            (
                0.25,
                &[
                    ("limitName", "aggregates.query.rate.per.minute"),
                    ("namespace", "analytics"),
                    ("timeUnit", "minute"),
                    ("max", "60"),
                ],
            ),
        ],
        splits: &[],
        // 20 an hour for a weight of 1: 17.5 events in a half hour over the three limits,
        // so a half hour with none (e^-17.5) never hides the demo's rate-limit row. At 5 an
        // hour one half hour in 80 had none.
        rules: &[measured(
            "oRateLimitRecorded",
            Volume::PerHour(20.0),
            (1.0, 2_000.0),
            (20.0, 200.0),
        )],
        follows_load: false,
    },
];

/// A dimension's values in this org, each with its weight (`None`: absent).
type Weighted = Vec<(Option<String>, f64)>;

/// A splitting dimension's values in this org, with their weights.
fn values_of(world: &World, values: Values) -> Weighted {
    let equal_shares = |ids: &[String]| -> Weighted {
        let share = 1.0 / ids.len().max(1) as f64;
        ids.iter().map(|id| (Some(id.clone()), share)).collect()
    };
    match values {
        Values::Shares(shares) => shares
            .iter()
            .map(|(v, share)| (v.map(str::to_string), *share))
            .collect(),
        Values::Queues => world
            .queue_ids()
            .iter()
            .map(|id| (Some(id.clone()), 1.0))
            .collect(),
        Values::Users => equal_shares(world.agent_ids()),
        Values::Divisions => equal_shares(world.division_ids()),
        Values::Flows => equal_shares(&flow_ids(world.seed())),
    }
}

/// 64 bits of a text, for hashing values into a cell's draws (FNV-1a).
fn text_hash(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

pub(super) fn measure(world: &World, tally: &mut Tally<'_>) {
    let query = tally.query();
    let Some(profile) = PROFILES.iter().find(|p| p.segment == query.source.segment) else {
        return;
    };
    if !profile.rules.iter().any(|r| tally.wants(r.metric)) {
        return;
    }
    // A splitting dimension cuts cells when the query groups or filters by it; otherwise
    // its whole weight stays in every cell.
    let named = |d: &str| query.group_names.contains(&d) || query.filter_dims.contains(&d);
    let mut cut: Vec<(&str, Weighted)> = Vec::new();
    let mut kept_weight = 1.0;
    for &(dimension, values) in profile.splits {
        let values = values_of(world, values);
        if named(dimension) {
            cut.push((dimension, values));
        } else {
            kept_weight *= values.iter().map(|(_, w)| w).sum::<f64>();
        }
    }
    let combinations = combinations(&cut);
    let bounds = query.bounds.clone();
    let source = text_hash(profile.segment);
    for bucket in 0..bounds.len().saturating_sub(1) {
        let from = bounds[bucket];
        let to = bounds[bucket + 1].min(tally.now_ms());
        if to <= from {
            continue;
        }
        let hours = (to - from) as f64 / HOUR_MS;
        let load = if profile.follows_load {
            // Some of everything goes on at night too, so every demo panel has data.
            NIGHT_FLOOR + (1.0 - NIGHT_FLOOR) * mean_load(world, from, to)
        } else {
            1.0
        };
        for (entity, &(entity_weight, entity_values)) in profile.entities.iter().enumerate() {
            for combination in &combinations {
                let value_of = |d: &str| {
                    entity_values
                        .iter()
                        .find(|(name, _)| *name == d)
                        .map(|(_, v)| *v)
                        .or_else(|| {
                            let at = cut.iter().position(|(name, _)| *name == d)?;
                            cut[at].1[combination[at]].0.as_deref()
                        })
                };
                if !tally.keeps(&value_of) {
                    continue;
                }
                let weight = combination
                    .iter()
                    .zip(&cut)
                    .fold(entity_weight * kept_weight, |w, (&i, (_, values))| {
                        w * values[i].1
                    });
                let cell = combination.iter().zip(&cut).fold(
                    hash(&[entity as u64]),
                    |h, (&i, (_, values))| {
                        hash(&[h, text_hash(values[i].0.as_deref().unwrap_or(""))])
                    },
                );
                let mut counts: Vec<(&str, u64)> = Vec::with_capacity(profile.rules.len());
                for rule in profile.rules {
                    let draw = hash(&[
                        world.seed(),
                        TAG_GENERIC,
                        source,
                        text_hash(rule.metric),
                        cell,
                        from as u64,
                    ]);
                    let count_of = |metric: &str| {
                        counts
                            .iter()
                            .find(|(m, _)| *m == metric)
                            .map_or(0, |(_, n)| *n)
                    };
                    let n = match rule.volume {
                        Volume::PerHour(rate) => draw_count(rate * hours * load * weight, draw),
                        Volume::Of(base, lo, hi) => share(count_of(base), lo, hi, draw),
                        Volume::OfRest(base, less, lo, hi) => {
                            share(count_of(base).saturating_sub(count_of(less)), lo, hi, draw)
                        }
                    };
                    counts.push((rule.metric, n));
                    if n > 0 && tally.wants(rule.metric) {
                        tally.add(bucket, rule.metric, None, &value_of, stat(rule, n, draw));
                    }
                }
            }
        }
    }
}

/// Every combination of one value per cut dimension, as value indices.
fn combinations(cut: &[(&str, Weighted)]) -> Vec<Vec<usize>> {
    cut.iter().fold(vec![Vec::new()], |done, (_, values)| {
        done.iter()
            .flat_map(|prefix| {
                (0..values.len()).map(move |i| {
                    let mut next = prefix.clone();
                    next.push(i);
                    next
                })
            })
            .collect()
    })
}

/// The org's mean load over `[from, to)`, sampled every quarter hour.
fn mean_load(world: &World, from: i64, to: i64) -> f64 {
    let first = from.div_euclid(MINUTE_MS);
    let minutes = ((to - from) / MINUTE_MS).max(1);
    let samples: Vec<f64> = (0..minutes)
        .step_by(15)
        .take(5_000)
        .map(|m| world.load_at(first + m))
        .collect();
    samples.iter().sum::<f64>() / samples.len() as f64
}

/// A standard normal draw from two uniforms (Box-Muller).
fn normal(draw: u64) -> f64 {
    let u1 = 1.0 - unit(hash(&[draw, 7]));
    let u2 = unit(hash(&[draw, 8]));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Poisson count of mean `mean` (normal for large means).
fn draw_count(mean: f64, draw: u64) -> u64 {
    if mean <= 30.0 {
        u64::from(poisson(mean, unit(draw)))
    } else {
        (mean + mean.sqrt() * normal(draw)).round().max(0.0) as u64
    }
}

/// A share between `lo` and `hi` of `base`: each of them with that chance, or (over 1)
/// so many per each.
fn share(base: u64, lo: f64, hi: f64, draw: u64) -> u64 {
    let fraction = lo + (hi - lo) * unit(hash(&[draw, 3]));
    if fraction >= 1.0 {
        let expected = base as f64 * fraction;
        let extra = unit(hash(&[draw, 4])) < expected.fract();
        return expected.floor() as u64 + u64::from(extra);
    }
    if base <= 200 {
        (0..base)
            .filter(|&i| unit(hash(&[draw, 5, i])) < fraction)
            .count() as u64
    } else {
        let mean = base as f64 * fraction;
        let spread = (mean * (1.0 - fraction)).sqrt();
        (mean + spread * normal(draw))
            .round()
            .clamp(0.0, base as f64) as u64
    }
}

/// The stats of `n` measurements of `rule`'s metric in one cell and bucket.
fn stat(rule: &Rule, n: u64, draw: u64) -> Stat {
    let (lo, hi) = rule.bounds;
    let mean = rule.typical.0 + (rule.typical.1 - rule.typical.0) * unit(hash(&[draw, 10]));
    let (min, max) = if n == 1 {
        (mean, mean)
    } else {
        (
            lo + (mean - lo) * (0.2 + 0.6 * unit(hash(&[draw, 11]))),
            mean + (hi - mean) * (0.05 + 0.4 * unit(hash(&[draw, 12]))),
        )
    };
    match rule.metric.as_bytes().first() {
        Some(b't') => Stat::Timer {
            count: n,
            sum: (mean * n as f64).round() as i64,
            max: max.round() as i64,
            min: min.round() as i64,
        },
        Some(b'o') => Stat::Summary {
            count: n,
            sum: (mean * n as f64 * 100.0).round() / 100.0,
            min: (min * 100.0).round() / 100.0,
            max: (max * 100.0).round() / 100.0,
        },
        _ => Stat::Count(n),
    }
}
