//! Collecting samples into metric families: a family's name and help text made once
//! per (metric, stat), counts and timers found by position. Split from `mapping.rs`,
//! which decides what each group exports; this decides where each sample goes.

use std::collections::HashMap;
use std::sync::Arc;

use super::help::{count_help, observation_help, timer_help};
use super::{TIMER_STATS, series_base};
use crate::conventions::snake_case;
use crate::genesys::bodies::Stats;
use crate::genesys::sources::Source;
use crate::series::{Family, LabelSet, QuerySeries, Sample};

/// Timer stats a group without the timer reads 0 for: no time, no measurement.
const ZERO_TIMER_STATS: [&str; 2] = ["sum", "count"];

/// Where the stats of one requested metric go.
#[derive(Clone, Copy)]
enum MetricSlots {
    /// `n…`: its count, to this family.
    Count(usize),
    /// `t…`: each of [`TIMER_STATS`], to the family at the same position.
    Timer([usize; TIMER_STATS.len()]),
    /// `o…`: stats named by the API, found by name (see [`FamilyBuilder::slot`]).
    Observation,
}

/// Collects samples into families by name. A family's name and help text are made once
/// per (metric, stat) and poll, not once per sample (formatting them per sample was most
/// of the mapping time at 100k series), and the families of counts and timers are found
/// by position, not by hashing names (BENCHMARKS.md).
pub(super) struct FamilyBuilder {
    /// `genesys_{domain}_`, from the query's source.
    prefix: Arc<str>,
    /// The source, for the names of observation stats' families.
    source: &'static Source,
    families: Vec<Family>,
    /// Family name to its index in `families`.
    /// (Shared by the builders [`FamilyBuilder::emptied`] makes, until one adds a family.)
    by_name: Arc<HashMap<String, usize>>,
    /// Requested metrics, by their position in the query.
    metrics: Arc<[String]>,
    /// The families of each requested metric, by the same position.
    metric_slots: Arc<[MetricSlots]>,
    /// Per requested metric, the stat of an observation to the family its samples go
    /// to; `None` for a stat whose name cannot be part of a metric name. (Shared as
    /// [`FamilyBuilder::by_name`] is.)
    observation_slots: Arc<Vec<HashMap<String, Option<usize>>>>,
    /// Samples each family is expected to get: one per group.
    groups: usize,
    /// Which of [`ZERO_TIMER_STATS`] the source's timers have: zero-filled.
    zero_timer_stats: [bool; 2],
    /// The group (its position in [`GroupMapping`]) the samples pushed now belong to.
    pub(super) group: u32,
    /// The group of each sample, until the samples are put in the groups' order
    /// ([`FamilyBuilder::order_groups`]).
    sample_groups: SampleGroups,
}

/// Which group each sample of each family belongs to.
enum SampleGroups {
    /// Every sample so far is the first group's: nothing to note until another group
    /// comes (the history maps each group of an answer alone, bucket by bucket,
    /// millions of times a request, and this saves a list per family each time).
    AllFirst,
    /// For each family, the group of each of its samples.
    Noted(Vec<Vec<u32>>),
    /// The samples are in the groups' order, and stay in the order they come.
    Ordered,
}

impl FamilyBuilder {
    /// A builder for `metrics` of `source`, expecting about `groups` samples per family.
    pub(super) fn new(source: &'static Source, metrics: &[String], groups: usize) -> FamilyBuilder {
        let prefix = source.prefix();
        let mut builder = FamilyBuilder {
            zero_timer_stats: ZERO_TIMER_STATS.map(|stat| source.timer_stats.contains(&stat)),
            prefix: prefix.as_str().into(),
            source,
            families: Vec::new(),
            by_name: Arc::default(),
            metrics: Arc::from(metrics),
            metric_slots: Arc::from([]),
            observation_slots: Arc::new(metrics.iter().map(|_| HashMap::new()).collect()),
            groups,
            group: 0,
            sample_groups: SampleGroups::AllFirst,
        };
        let mut metric_slots = Vec::with_capacity(metrics.len());
        for metric in metrics {
            let (family, base) = series_base(source, metric);
            let slots = match family {
                'n' => MetricSlots::Count(
                    builder.family(format!("{prefix}{base}"), || count_help(metric)),
                ),
                't' => MetricSlots::Timer(TIMER_STATS.map(|stat| {
                    builder.family(format!("{prefix}{base}_seconds_{stat}"), || {
                        timer_help(metric, stat)
                    })
                })),
                _ => MetricSlots::Observation,
            };
            metric_slots.push(slots);
        }
        builder.metric_slots = Arc::from(metric_slots);
        builder
    }

    /// A builder with the same families (names, help texts, slots), none of them with
    /// samples yet: what [`FamilyBuilder::new`] and the same families' first uses would
    /// make, without formatting a name or help text again.
    pub(super) fn emptied(&self) -> FamilyBuilder {
        FamilyBuilder {
            prefix: Arc::clone(&self.prefix),
            source: self.source,
            families: self
                .families
                .iter()
                .map(|family| Family {
                    name: family.name.clone(),
                    help: family.help.clone(),
                    samples: Vec::with_capacity(self.groups),
                })
                .collect(),
            by_name: Arc::clone(&self.by_name),
            metrics: Arc::clone(&self.metrics),
            metric_slots: Arc::clone(&self.metric_slots),
            observation_slots: Arc::clone(&self.observation_slots),
            groups: self.groups,
            zero_timer_stats: self.zero_timer_stats,
            group: 0,
            sample_groups: SampleGroups::AllFirst,
        }
    }

    /// The index of the family `name`, made (with `help`) on first use.
    pub(super) fn family(&mut self, name: String, help: impl FnOnce() -> String) -> usize {
        if let Some(&index) = self.by_name.get(&name) {
            return index;
        }
        let index = self.families.len();
        self.families.push(Family {
            name: name.as_str().into(),
            help: help().into(),
            samples: Vec::with_capacity(self.groups),
        });
        if let SampleGroups::Noted(sample_groups) = &mut self.sample_groups {
            sample_groups.push(Vec::with_capacity(self.groups));
        }
        Arc::make_mut(&mut self.by_name).insert(name, index);
        index
    }

    /// The family that `stat` of the observation at position `metric` goes to.
    fn slot(&mut self, metric: usize, stat: &str) -> Option<usize> {
        if let Some(&slot) = self.observation_slots[metric].get(stat) {
            return slot;
        }
        let (_, base) = series_base(self.source, &self.metrics[metric]);
        let stat_name = snake_case(stat);
        let valid = !stat_name.is_empty()
            && stat_name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let slot = valid.then(|| {
            let name = format!("{}{base}_{stat_name}", self.prefix);
            let help = observation_help(&self.metrics[metric], &stat_name);
            self.family(name, || help)
        });
        Arc::make_mut(&mut self.observation_slots)[metric].insert(stat.to_string(), slot);
        slot
    }

    pub(super) fn push_to(&mut self, family: usize, labels: &LabelSet, value: f64) {
        self.families[family].samples.push(Sample {
            labels: Arc::clone(labels),
            value,
        });
        match &mut self.sample_groups {
            SampleGroups::AllFirst if self.group == 0 => {}
            SampleGroups::AllFirst => {
                // The first sample of another group: the ones before were the first's.
                let mut noted: Vec<Vec<u32>> = self
                    .families
                    .iter()
                    .map(|family| vec![0; family.samples.len()])
                    .collect();
                noted[family].pop();
                noted[family].push(self.group);
                self.sample_groups = SampleGroups::Noted(noted);
            }
            SampleGroups::Noted(sample_groups) => sample_groups[family].push(self.group),
            SampleGroups::Ordered => {}
        }
    }

    /// How many samples each family has.
    pub(super) fn sample_counts(&self) -> Vec<usize> {
        self.families.iter().map(|f| f.samples.len()).collect()
    }

    /// Drops the samples past `counts` (a family made since has none left).
    pub(super) fn truncate(&mut self, counts: &[usize]) {
        for (index, family) in self.families.iter_mut().enumerate() {
            let count = counts.get(index).copied().unwrap_or(0);
            family.samples.truncate(count);
            if let SampleGroups::Noted(sample_groups) = &mut self.sample_groups {
                sample_groups[index].truncate(count);
            }
        }
    }

    /// Puts each family's samples in the order of their groups' `rank` (a group's own
    /// samples keep their order); samples pushed later follow.
    pub(super) fn order_groups(&mut self, rank: &[u32]) {
        let SampleGroups::Noted(sample_groups) =
            std::mem::replace(&mut self.sample_groups, SampleGroups::Ordered)
        else {
            // All the first group's (already in order), or ordered before.
            return;
        };
        for (family, groups) in self.families.iter_mut().zip(sample_groups) {
            let ranks: Vec<u32> = groups.iter().map(|&group| rank[group as usize]).collect();
            if ranks.is_sorted() {
                continue;
            }
            let mut ranked: Vec<(u32, Sample)> =
                ranks.into_iter().zip(family.samples.drain(..)).collect();
            // Stable: a group's samples stay in the order they came.
            ranked.sort_by_key(|(rank, _)| *rank);
            family
                .samples
                .extend(ranked.into_iter().map(|(_, sample)| sample));
        }
    }

    /// Adds the stats of one entry of the requested metric at position `metric`;
    /// returns the number of stats skipped.
    pub(super) fn add_stats(&mut self, metric: usize, stats: &Stats, labels: &LabelSet) -> u64 {
        match self.metric_slots[metric] {
            MetricSlots::Count(family) => match stats.get("count") {
                Some(count) => {
                    self.push_to(family, labels, count);
                    0
                }
                None => 1,
            },
            MetricSlots::Timer(families) => {
                for (stat, family) in TIMER_STATS.into_iter().zip(families) {
                    if let Some(value) = stats.get(stat) {
                        let seconds = if stat == "count" {
                            value
                        } else {
                            value / 1000.0
                        };
                        self.push_to(family, labels, seconds);
                    }
                }
                0
            }
            MetricSlots::Observation => {
                let mut skipped = 0;
                // Stats whose names meet in snake_case (`ratio`, `Ratio`), or a stat the
                // JSON repeats, would be one series twice: the first wins.
                let mut seen: Vec<usize> = Vec::new();
                for (stat, value) in &stats.values {
                    match self.slot(metric, stat) {
                        Some(family) if !seen.contains(&family) => {
                            seen.push(family);
                            self.push_to(family, labels, *value);
                        }
                        _ => skipped += 1,
                    }
                }
                skipped
            }
        }
    }

    /// Adds what an absent metric means: zero conversations, zero time (the sum and
    /// count the source's timers have). An observation has no "nothing happened" value
    /// (a service level of what?).
    pub(super) fn add_zero(&mut self, metric: usize, labels: &LabelSet) {
        match self.metric_slots[metric] {
            MetricSlots::Count(family) => self.push_to(family, labels, 0.0),
            // TIMER_STATS begins with sum and count.
            MetricSlots::Timer([sum, count, ..]) => {
                for (family, zeroed) in [sum, count].into_iter().zip(self.zero_timer_stats) {
                    if zeroed {
                        self.push_to(family, labels, 0.0);
                    }
                }
            }
            MetricSlots::Observation => {}
        }
    }

    /// The families that got samples, sorted by name. (Timer families are made up front;
    /// a stat no group had, such as `p99`, leaves its family empty.)
    pub(super) fn finish(mut self) -> QuerySeries {
        self.families.retain(|family| !family.samples.is_empty());
        for family in &mut self.families {
            family.samples.shrink_to_fit();
        }
        self.families.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        QuerySeries {
            families: self.families,
        }
    }
}
