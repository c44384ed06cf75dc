//! The request plan: what every query and observation set costs per minute, against
//! the budget, and the observations' refresh stretched until it fits.
//!
//! Observations make the request rate depend on the org's size (`queues: all` is known
//! only once the queues are listed), so the plan is made again whenever the number of
//! queues changes. Nothing is dropped silently:
//! - interval queries are never skipped: if they (and the names) alone exceed the
//!   budget, start-up stops with exit status 2 and the plan;
//! - otherwise, if the total exceeds the budget, the observations' refresh periods are
//!   stretched by one common factor (the cheapest thing to delay: an observation a few
//!   seconds later is still "now") so the total fits, and the plan says by how much.
//!
//! Pure: no I/O, unit-tested here. The governor limiter (see
//! [`crate::genesys::budget`]) still holds every 60 s window to the budget whatever the
//! plan says; the plan keeps the pollers from queuing behind it.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::config::{
    self, AgentSetConfig, Config, ObservationConfig, QueryConfig, QueueSelection, TrunkSetConfig,
    VoiceSetConfig,
};
use crate::genesys::LISTING_PAGE_SIZE;
use crate::genesys::names;
use crate::genesys::trunks::{TRUNK_IDS_PER_REQUEST, TRUNK_PAGE_SIZE};

/// A query's or observation set's share of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The `query` label.
    pub name: String,
    /// Whether it is an observation set (else a query).
    pub observation: bool,
    /// Requests one poll sends (retries not included).
    pub requests_per_poll: usize,
    /// The configured time between polls.
    pub refresh: Duration,
    /// The time between polls after stretching (the configured one for queries).
    pub effective_refresh: Duration,
}

impl Entry {
    /// Requests a minute at the effective refresh.
    pub fn requests_per_minute(&self) -> f64 {
        per_minute(self.requests_per_poll, self.effective_refresh)
    }
}

/// The whole plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub entries: Vec<Entry>,
    /// The org's counts the plan was made for.
    pub counts: Counts,
    /// Requests a minute the names take (the pages of every listing in use per refresh,
    /// over its period; see [`name_pages`]).
    pub names_per_minute: f64,
    /// `--genesys.requests-per-minute`.
    pub budget: u32,
}

/// What the plan depends on that only the org and the last polls tell, as last seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Queues the observation sets over `all` cover; `None` before they are listed.
    pub queues: Option<usize>,
    /// Trunks the trunk sets last listed; `None` before they are listed.
    pub trunks: Option<usize>,
    /// Pages the last read of a set took where the plan cannot know them, by set: a
    /// voice quality set's details pages (1 before its first poll), a pushed agents
    /// set's queue members pages (1 a queue of `per_queue` before its first read).
    pub read_pages: BTreeMap<String, usize>,
}

/// Why there is no plan that fits.
#[derive(Debug, thiserror::Error)]
#[error(
    "the interval queries and names alone need {needed:.1} requests a minute, over the \
     --genesys.requests-per-minute budget of {budget}; raise the budget, lengthen their \
     refresh or granularity, or remove queries. The plan:\n{plan}"
)]
pub struct OverBudget {
    pub needed: f64,
    pub budget: u32,
    pub plan: Plan,
}

fn per_minute(requests: usize, every: Duration) -> f64 {
    if every.is_zero() {
        return 0.0;
    }
    requests as f64 * 60.0 / every.as_secs_f64()
}

/// How often a query polls: every `refresh` if set, else once per bucket.
fn query_period(query: &QueryConfig) -> Duration {
    query
        .refresh
        .unwrap_or_else(|| query.granularity.nominal_length())
}

fn query_entry(query: &QueryConfig) -> Entry {
    let period = query_period(query);
    Entry {
        name: query.name.clone(),
        observation: false,
        requests_per_poll: query.filter.as_ref().map_or(1, |f| f.requests().len()),
        refresh: period,
        effective_refresh: period,
    }
}

fn observation_entry(observation: &ObservationConfig, queues: Option<usize>) -> Entry {
    let covered = match &observation.queues {
        QueueSelection::Ids(ids) => ids.len(),
        // Before the queues are listed (and in the static plan), the cost of 100 queues.
        QueueSelection::All => queues.unwrap_or(100),
    };
    // A pushed set polls every `reconcile`; its channel and subscription requests
    // (two a channel at each (re)connect) are priced as if every reconcile needed them.
    let (requests_per_poll, refresh) = if observation.transport.is_pushed() {
        (
            observation.requests_for(covered) + 2 * observation.channels_for(covered),
            observation.reconcile,
        )
    } else {
        (observation.requests_for(covered), observation.refresh)
    };
    Entry {
        name: observation.name.clone(),
        observation: true,
        requests_per_poll,
        refresh,
        effective_refresh: refresh,
    }
}

/// An agents set: one request a refresh, whatever the org's size; stretched with the
/// queue sets when the budget needs it. A pushed one: a page of the users listing (500
/// agents; the org's size is not re-planned), the members pages of its `per_queue`
/// queues (as its last read took them, 100 members a page; one a queue before) and two
/// requests a channel every `reconcile`, priced as a pushed queue set's.
fn agents_entry(set: &AgentSetConfig, pages: &BTreeMap<String, usize>) -> Entry {
    let (requests_per_poll, refresh) = if set.transport.is_pushed() {
        let members = pages.get(&set.name).copied().unwrap_or(set.per_queue.len());
        (1 + members + 2 * set.channels_at_least(), set.reconcile)
    } else {
        (1, set.refresh)
    };
    Entry {
        name: set.name.clone(),
        observation: true,
        requests_per_poll,
        refresh,
        effective_refresh: refresh,
    }
}

/// A trunk set: the listing's pages and the metrics' batches of `trunks` (100 before
/// they are listed: one page, one batch); stretched with the observation sets.
fn trunks_entry(set: &TrunkSetConfig, trunks: Option<usize>) -> Entry {
    let trunks = trunks.unwrap_or(TRUNK_PAGE_SIZE as usize);
    let pages = trunks.div_ceil(TRUNK_PAGE_SIZE as usize).max(1);
    Entry {
        name: set.name.clone(),
        observation: true,
        requests_per_poll: pages + trunks.div_ceil(TRUNK_IDS_PER_REQUEST),
        refresh: set.refresh,
        effective_refresh: set.refresh,
    }
}

/// A voice quality set: the details pages of one interval (as many as the last poll
/// took, 1 before the first), once per interval; never stretched (each
/// interval is polled once).
fn voice_entry(set: &VoiceSetConfig, pages: &BTreeMap<String, usize>) -> Entry {
    let period = set.granularity.nominal_length();
    Entry {
        name: set.name.clone(),
        observation: false,
        requests_per_poll: pages.get(&set.name).copied().unwrap_or(1),
        refresh: period,
        effective_refresh: period,
    }
}

/// Requests one refresh of the names takes: the queue listing's pages (`queues` at 500
/// a page, 100 queues before they are listed) while a query groups by queue or queues
/// are observed, and one request for every other named dimension in use. That is a
/// floor for those: users looked up by id cost one request per 100 seen, and a listing
/// of more than 500 entities one per 500.
fn name_pages(config: &Config, queues: Option<usize>) -> usize {
    let mut in_use: Vec<&str> = config::named_dimensions(
        &config.queries,
        &config.observations,
        &config.agents,
        &config.voice_quality,
    )
    .filter(|d| names::dimension(d).is_some())
    .collect();
    in_use.sort_unstable();
    in_use.dedup();
    in_use
        .iter()
        .map(|&dimension| match dimension {
            "queueId" => queues
                .unwrap_or(100)
                .div_ceil(LISTING_PAGE_SIZE as usize)
                .max(1),
            _ => 1,
        })
        .sum()
}

/// Makes the plan for `config` at `counts` (the org's queues and trunks as last listed,
/// the voice sets' requests as their last polls took), names refreshed every
/// `names_refresh` when anything needs them, and a budget of `budget` requests a
/// minute; stretches the observations to fit.
pub fn make(
    config: &Config,
    counts: Counts,
    names_refresh: Duration,
    budget: u32,
) -> Result<Plan, OverBudget> {
    let mut entries: Vec<Entry> = config.queries.iter().map(query_entry).collect();
    entries.extend(
        config
            .observations
            .iter()
            .map(|o| observation_entry(o, counts.queues)),
    );
    entries.extend(
        config
            .agents
            .iter()
            .map(|set| agents_entry(set, &counts.read_pages)),
    );
    entries.extend(config.trunks.iter().map(|t| trunks_entry(t, counts.trunks)));
    entries.extend(
        config
            .voice_quality
            .iter()
            .map(|set| voice_entry(set, &counts.read_pages)),
    );
    let names_per_minute = per_minute(name_pages(config, counts.queues), names_refresh);
    let mut plan = Plan {
        entries,
        counts,
        names_per_minute,
        budget,
    };
    let fixed: f64 = names_per_minute
        + plan
            .entries
            .iter()
            .filter(|e| !e.observation)
            .map(Entry::requests_per_minute)
            .sum::<f64>();
    let observations: f64 = plan
        .entries
        .iter()
        .filter(|e| e.observation)
        .map(Entry::requests_per_minute)
        .sum();
    let budget_f = f64::from(budget);
    let room = budget_f - fixed;
    if fixed > budget_f || (observations > 0.0 && room <= 0.0) {
        return Err(OverBudget {
            needed: fixed,
            budget,
            plan,
        });
    }
    if observations > room {
        let factor = observations / room;
        for entry in plan.entries.iter_mut().filter(|e| e.observation) {
            // Whole seconds, rounded up, so the total stays within the budget.
            let stretched = (entry.refresh.as_secs_f64() * factor).ceil();
            entry.effective_refresh = Duration::from_secs_f64(stretched);
        }
    }
    Ok(plan)
}

impl Plan {
    /// Requests a minute of everything together.
    pub fn total_per_minute(&self) -> f64 {
        self.names_per_minute
            + self
                .entries
                .iter()
                .map(Entry::requests_per_minute)
                .sum::<f64>()
    }

    /// The entries whose refresh was stretched to fit the budget.
    pub fn stretched(&self) -> impl Iterator<Item = &Entry> {
        self.entries
            .iter()
            .filter(|e| e.effective_refresh != e.refresh)
    }

    /// The effective refresh of the entry `name`.
    pub fn effective_refresh(&self, name: &str) -> Option<Duration> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.effective_refresh)
    }
}

impl fmt::Display for Plan {
    /// A table: one line per entry, the names, the total against the budget.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  {:<24} {:>17} {:>14} {:>16} {:>14}",
            "query", "requests per poll", "refresh", "effective refresh", "requests/min"
        )?;
        for entry in &self.entries {
            let kind = if entry.observation {
                " (observations)"
            } else {
                ""
            };
            writeln!(
                f,
                "  {:<24} {:>17} {:>14} {:>16} {:>14.1}{kind}",
                entry.name,
                entry.requests_per_poll,
                humantime::format_duration(entry.refresh).to_string(),
                humantime::format_duration(entry.effective_refresh).to_string(),
                entry.requests_per_minute(),
            )?;
        }
        let queues = match self.counts.queues {
            Some(n) => format!("{n} queues"),
            None => "queue count not known yet: observations over `all` priced per 100 queues"
                .to_string(),
        };
        writeln!(
            f,
            "  {:<24} {:>17} {:>14} {:>16} {:>14.1}",
            "(names)", "", "", "", self.names_per_minute
        )?;
        let trunks = match self.counts.trunks {
            Some(n) => format!(", {n} trunks"),
            None => String::new(),
        };
        write!(
            f,
            "  total {:.1} of {} requests a minute ({queues}{trunks})",
            self.total_per_minute(),
            self.budget
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_yaml(text, "t.yaml").unwrap()
    }

    const LIVE_15S: &str = "queries:\n  - {name: q, granularity: PT30M, refresh: 5m, group_by: [queueId], metrics: [nOffered]}\nobservations:\n  - {name: live, refresh: 15s, metrics: [oWaiting]}\n";

    #[test]
    fn an_agents_set_costs_one_request_a_refresh_whatever_the_org_and_stretches_with_the_sets() {
        let agents = config(
            "observations:\n  - {name: now, source: agents, refresh: 10s}\n  - {name: live, refresh: 10s, metrics: [oWaiting]}\n",
        );
        for queues in [None, Some(10), Some(5000)] {
            let plan = make(
                &agents,
                Counts {
                    queues,
                    ..Counts::default()
                },
                Duration::from_secs(600),
                3000,
            )
            .unwrap();
            let now = plan.entries.iter().find(|e| e.name == "now").unwrap();
            assert_eq!(now.requests_per_poll, 1);
            assert!(now.observation);
            assert!((now.requests_per_minute() - 6.0).abs() < 1e-9);
        }
        // 600/min for live's 100 queues a refresh, 6 for now: over a budget of 60 both
        // are stretched by the same factor.
        let plan = make(
            &agents,
            Counts {
                queues: Some(10_000),
                ..Counts::default()
            },
            Duration::from_secs(600),
            60,
        )
        .unwrap();
        let now = plan.entries.iter().find(|e| e.name == "now").unwrap();
        assert!(now.effective_refresh > now.refresh);
        assert!(plan.total_per_minute() <= 60.0);
    }

    #[test]
    fn a_pushed_agents_set_with_per_queue_costs_its_members_pages_every_reconcile() {
        let pushed = config(
            "observations:\n  - name: now\n    source: agents\n    transport: push\n    reconcile: 5m\n    per_queue: [0b7c5e6a-2f1d-4c3b-9a8e-1f2d3c4b5a69, 1c8d6f7b-3a2e-4d4c-8b9f-2a3e4d5c6b70]\n  - {name: plain, source: agents, transport: push, reconcile: 5m}\n",
        );
        let cost = |pages: &[(&str, usize)]| {
            let counts = Counts {
                read_pages: pages.iter().map(|(n, p)| (n.to_string(), *p)).collect(),
                ..Counts::default()
            };
            let plan = make(&pushed, counts, Duration::from_secs(600), 3000).unwrap();
            let entry = |name| {
                plan.entries
                    .iter()
                    .find(|e| e.name == name)
                    .cloned()
                    .unwrap()
            };
            (entry("now"), entry("plain"))
        };
        // Before the first read: one members page a queue, beside the users page and
        // the channel's two requests, every reconcile.
        let (now, plain) = cost(&[]);
        assert_eq!((now.requests_per_poll, plain.requests_per_poll), (5, 3));
        assert_eq!(now.refresh, Duration::from_secs(300));
        assert!((now.requests_per_minute() - 1.0).abs() < 1e-9);
        // Then as many as the last read took (250 and 30 members: 3 + 1 pages).
        let (now, _) = cost(&[("now", 4)]);
        assert_eq!(now.requests_per_poll, 7);
    }

    #[test]
    fn a_trunk_set_costs_its_listing_pages_and_metric_batches_and_stretches_with_the_sets() {
        let trunks = config("trunks:\n  - {name: t, refresh: 10s}\n");
        let cost = |listed| {
            let plan = make(
                &trunks,
                Counts {
                    trunks: listed,
                    ..Counts::default()
                },
                Duration::from_secs(600),
                3000,
            )
            .unwrap();
            plan.entries[0].requests_per_poll
        };
        // Before the listing: one page and one batch; then pages of 100 and batches of 100.
        assert_eq!(cost(None), 2);
        assert_eq!(cost(Some(0)), 1);
        assert_eq!(cost(Some(4)), 2);
        assert_eq!(cost(Some(250)), 6);
        let plan = make(
            &trunks,
            Counts {
                trunks: Some(250),
                ..Counts::default()
            },
            Duration::from_secs(600),
            12,
        )
        .unwrap();
        assert!(plan.entries[0].observation);
        assert!(plan.entries[0].effective_refresh > Duration::from_secs(10));
        assert!(plan.total_per_minute() <= 12.0, "{plan}");
        assert!(plan.to_string().contains("250 trunks"), "{plan}");
    }

    #[test]
    fn a_plan_that_fits_keeps_every_refresh() {
        let plan = make(
            &config(LIVE_15S),
            Counts {
                queues: Some(250),
                ..Counts::default()
            },
            Duration::from_secs(600),
            300,
        )
        .unwrap();
        // live: 3 requests every 15 s = 12/min; q: 1 every 5 min = 0.2/min; names: 1 page
        // every 10 min = 0.1/min.
        assert_eq!(plan.entries[1].requests_per_poll, 3);
        assert!((plan.entries[1].requests_per_minute() - 12.0).abs() < 1e-9);
        assert!((plan.total_per_minute() - 12.3).abs() < 1e-9);
        assert_eq!(plan.stretched().count(), 0);
    }

    #[test]
    fn observations_stretch_to_fit_and_the_total_stays_within_the_budget() {
        // 1,000 queues every 15 s = 40/min against 30.
        let plan = make(
            &config(LIVE_15S),
            Counts {
                queues: Some(1000),
                ..Counts::default()
            },
            Duration::from_secs(600),
            30,
        )
        .unwrap();
        let live = plan.effective_refresh("live").unwrap();
        assert!(live > Duration::from_secs(15));
        assert!(plan.total_per_minute() <= 30.0, "{plan}");
        // 30 - 0.2 - 0.2 = 29.6/min for 10 requests a refresh: 20.27 s, rounded up.
        assert_eq!(live, Duration::from_secs(21));
        assert_eq!(plan.effective_refresh("q"), Some(Duration::from_secs(300)));
        assert_eq!(plan.stretched().count(), 1);
    }

    #[test]
    fn interval_queries_alone_over_the_budget_are_refused_with_the_plan() {
        let text =
            "queries:\n  - {name: q, granularity: PT30M, refresh: 10s, metrics: [nOffered]}\n";
        let err = make(
            &config(text),
            Counts::default(),
            Duration::from_secs(600),
            5,
        )
        .unwrap_err();
        assert!((err.needed - 6.0).abs() < 1e-9);
        let message = err.to_string();
        assert!(
            message.contains("over the --genesys.requests-per-minute budget of 5"),
            "{message}"
        );
        assert!(message.contains("requests per poll"), "{message}");
    }

    #[test]
    fn the_static_plan_prices_all_queues_per_hundred() {
        let plan = make(
            &config(LIVE_15S),
            Counts::default(),
            Duration::from_secs(600),
            300,
        )
        .unwrap();
        assert_eq!(plan.entries[1].requests_per_poll, 1);
        assert!(plan.to_string().contains("priced per 100 queues"));
    }

    #[test]
    fn a_query_without_refresh_polls_once_per_bucket() {
        let text = "queries:\n  - {name: q, granularity: PT15M, metrics: [nOffered]}\n";
        let plan = make(
            &config(text),
            Counts::default(),
            Duration::from_secs(600),
            300,
        )
        .unwrap();
        assert!((plan.entries[0].requests_per_minute() - 1.0 / 15.0).abs() < 1e-9);
        assert_eq!(plan.names_per_minute, 0.0);
    }

    #[test]
    fn every_named_dimension_in_use_costs_its_pages() {
        let text = "queries:\n  - {name: q, granularity: PT15M, group_by: [queueId, userId, mediaType], metrics: [nOffered]}\n  - {name: w, granularity: PT15M, group_by: [wrapUpCode, userId], metrics: [nOffered]}\n";
        // 1,200 queues: 3 pages; users and wrap-up codes: one request each.
        let plan = make(
            &config(text),
            Counts {
                queues: Some(1_200),
                ..Counts::default()
            },
            Duration::from_secs(60),
            300,
        )
        .unwrap();
        assert!((plan.names_per_minute - 5.0).abs() < 1e-9, "{plan:?}");
    }
}
