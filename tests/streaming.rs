//! Aggregates answers handed on result by result as they stream in
//! (`GenesysClient::stream_aggregates`, what `backfill` reads with), against the
//! simulator over loopback: the same results as the whole answer, odd values read as
//! the whole answer reads them, the size limit enforced on the way, and no retry once a
//! result was handed on, unless the sink taking them (`stream_aggregates_into`, what
//! the live poll reads with) forgets them.

mod common;

use std::time::Duration;

use common::{CLIENT_SECRET, client, client_with, settings, simulator, statuses};
use genesys_cloud_exporter::genesys::bodies::{AggregateQuery, AggregateResult};
use genesys_cloud_exporter::genesys::{ApiError, GenesysClient, ResultSink, sources};
use genesys_cloud_exporter::simulator::{FaultKind, FaultRule, SimulatorConfig, Trigger};

const METRICS: [&str; 2] = ["nOffered", "tHandle"];

fn query<'a>(group_by: &'a [String], metrics: &'a [String]) -> AggregateQuery<'a> {
    AggregateQuery {
        interval: "2026-11-23T00:00:00.000Z/2026-11-30T00:00:00.000Z".into(),
        granularity: "PT30M".into(),
        time_zone: "UTC",
        group_by,
        metrics,
        filter: None,
    }
}

/// The results of a 7-day query, streamed, as (group, buckets, metric entries), and
/// what the call returned.
async fn streamed(client: &GenesysClient) -> (Vec<String>, Result<(), ApiError>) {
    let group_by = vec!["queueId".to_string(), "mediaType".to_string()];
    let metrics: Vec<String> = METRICS.iter().map(|m| m.to_string()).collect();
    let mut seen = Vec::new();
    let outcome = client
        .stream_aggregates(
            sources::CONVERSATIONS,
            &query(&group_by, &metrics),
            &mut |result| {
                seen.push(describe(&result));
                true
            },
        )
        .await
        .map(|_| ());
    (seen, outcome)
}

/// A result in one line: its group and every bucket's metric entries and stats.
fn describe(result: &AggregateResult) -> String {
    let mut text = format!("{:?}", result.group);
    for bucket in &result.data {
        text.push_str(&format!(" {}:", bucket.interval));
        for entry in &bucket.metrics {
            text.push_str(&format!(
                " {}/{:?}={:?}+{}",
                entry.metric, entry.qualifier, entry.stats.values, entry.stats.skipped
            ));
        }
    }
    text
}

/// The results of the same query, read whole, as [`describe`] writes them.
async fn whole(client: &GenesysClient) -> Vec<String> {
    let group_by = vec!["queueId".to_string(), "mediaType".to_string()];
    let metrics: Vec<String> = METRICS.iter().map(|m| m.to_string()).collect();
    let answer = client
        .query_aggregates(sources::CONVERSATIONS, &query(&group_by, &metrics))
        .await
        .unwrap()
        .value;
    answer.results.iter().map(describe).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn streamed_results_equal_the_whole_answer() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    let (seen, outcome) = streamed(&client).await;
    outcome.unwrap();
    let whole = whole(&client).await;
    assert!(whole.len() > 5, "{} groups", whole.len());
    assert_eq!(seen, whole);
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_values_read_as_in_the_whole_answer() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    let odd = |sim: &genesys_cloud_exporter::simulator::Simulator| {
        sim.add_fault(FaultRule {
            path_prefix: sources::CONVERSATIONS.aggregates_path(),
            kind: FaultKind::OddValues,
            trigger: Trigger::Count(1),
        })
    };
    odd(&sim);
    let (seen, outcome) = streamed(&client).await;
    outcome.unwrap();
    odd(&sim);
    let whole = whole(&client).await;
    // The bare NaN and the other odd stats are skipped and counted alike.
    assert!(seen.iter().any(|r| r.contains("+1")), "{seen:?}");
    assert_eq!(seen, whole);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_over_the_limit_is_refused_while_it_streams() {
    let sim = simulator(SimulatorConfig::default()).await;
    let mut settings = settings(&sim, CLIENT_SECRET, 300);
    settings.max_response_bytes = 1 << 20;
    let (client, _) = client_with(settings);
    sim.add_fault(FaultRule {
        path_prefix: sources::CONVERSATIONS.aggregates_path(),
        kind: FaultKind::HugeBody { bytes: 64 << 20 },
        trigger: Trigger::Count(1),
    });
    let (seen, outcome) = streamed(&client).await;
    assert!(
        matches!(outcome, Err(ApiError::TooLarge { limit, .. }) if limit == 1 << 20),
        "{outcome:?}"
    );
    // What came before the limit was handed on, and nothing after it.
    assert!(!seen.is_empty());
    assert!(seen.len() < 64 << 20 >> 5, "{} results", seen.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_after_results_were_handed_on_is_not_retried() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    sim.add_fault(FaultRule {
        path_prefix: sources::CONVERSATIONS.aggregates_path(),
        kind: FaultKind::ResetMidBody,
        trigger: Trigger::for_next(Duration::from_secs(60)),
    });
    let (seen, outcome) = streamed(&client).await;
    assert!(
        matches!(outcome, Err(ApiError::Transport { .. })),
        "{outcome:?}"
    );
    assert!(!seen.is_empty(), "the first half of the body has results");
    assert_eq!(
        statuses(&sim, &sources::CONVERSATIONS.aggregates_path()).len(),
        1,
        "one attempt: the results handed on cannot be taken back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_503_before_the_body_is_retried() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    sim.add_fault(FaultRule {
        path_prefix: sources::CONVERSATIONS.aggregates_path(),
        kind: FaultKind::Status {
            status: 503,
            retry_after: None,
        },
        trigger: Trigger::Count(2),
    });
    let (seen, outcome) = streamed(&client).await;
    outcome.unwrap();
    assert!(!seen.is_empty());
    assert_eq!(
        statuses(&sim, &sources::CONVERSATIONS.aggregates_path()),
        [503, 503, 200]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reader_stopping_ends_the_answer() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    let group_by = vec!["queueId".to_string(), "mediaType".to_string()];
    let metrics: Vec<String> = METRICS.iter().map(|m| m.to_string()).collect();
    let mut taken = 0;
    let outcome = client
        .stream_aggregates(
            sources::CONVERSATIONS,
            &query(&group_by, &metrics),
            &mut |_| {
                taken += 1;
                taken < 2
            },
        )
        .await;
    assert!(
        matches!(outcome, Err(ApiError::BadResponse { .. })),
        "{outcome:?}"
    );
    assert_eq!(taken, 2);
    assert_eq!(
        statuses(&sim, &sources::CONVERSATIONS.aggregates_path()).len(),
        1
    );
}

/// A sink that keeps the results it takes (as [`describe`] writes them) on the parser's
/// thread, and can forget an attempt's.
#[derive(Default)]
struct Kept {
    results: Vec<String>,
    attempt_began_at: usize,
    forgotten: usize,
}

impl ResultSink for Kept {
    fn take(&mut self, result: AggregateResult) -> bool {
        self.results.push(describe(&result));
        true
    }

    fn begin_attempt(&mut self) {
        self.attempt_began_at = self.results.len();
    }

    fn forget_attempt(&mut self) -> bool {
        self.forgotten += self.results.len() - self.attempt_began_at;
        self.results.truncate(self.attempt_began_at);
        true
    }
}

/// Into a sink that forgets a failed attempt (the live poll's), an answer cut after
/// results were handed on is sent again, and the sink holds the whole answer once.
#[tokio::test(flavor = "multi_thread")]
async fn a_sink_that_forgets_a_cut_answer_gets_it_again_whole() {
    let sim = simulator(SimulatorConfig::default()).await;
    let (client, _) = client(&sim, CLIENT_SECRET);
    sim.add_fault(FaultRule {
        path_prefix: sources::CONVERSATIONS.aggregates_path(),
        kind: FaultKind::ResetMidBody,
        trigger: Trigger::Count(1),
    });
    let group_by = vec!["queueId".to_string(), "mediaType".to_string()];
    let metrics: Vec<String> = METRICS.iter().map(|m| m.to_string()).collect();
    let kept = client
        .stream_aggregates_into(
            sources::CONVERSATIONS,
            &query(&group_by, &metrics),
            Kept::default(),
        )
        .await
        .unwrap()
        .value;
    assert!(kept.forgotten > 0, "the first half of the body had results");
    assert_eq!(
        statuses(&sim, &sources::CONVERSATIONS.aggregates_path()).len(),
        2
    );
    assert_eq!(kept.results, whole(&client).await);
}
