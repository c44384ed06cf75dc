//! Publishing beside large entries (issue 24): a small entry, the queue observation
//! series of 1,000 queues as a pushed set publishes them, published into a store that
//! already holds the conversation series of the built-in query at 10k, 100k and 500k
//! series; the conversation entry published again beside it (a poll), and alone (the
//! whole exposition, as the pipeline bench's `encode`). Printed for
//! each size: the text and compressed bytes of the whole exposition and its chunks.
//!
//! `cargo bench --bench publish` measures every size; without `--bench` (as
//! `cargo test --benches` runs it) criterion runs each benchmark once, at 10k only.

mod support;

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use genesys_cloud_exporter::platform::return_large_buffers_to_the_system;
use genesys_cloud_exporter::series::{Family, Labels, QuerySeries, Sample};
use genesys_cloud_exporter::snapshot::{EncodedSeries, SnapshotStore};

/// Queues of the small entry.
const QUEUES: usize = 1_000;
/// Its name: after the built-in query's in the store's order, as `queues` would be.
const SMALL: &str = "queue_observations";

/// Whether criterion measures (`cargo bench`) rather than runs each bench once.
fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

/// The series a queue observation set of `queues` queues exports, shaped as
/// `mapping::observations` makes them: per queue, waiting, alerting, interacting and the
/// oldest waiting by media type, agents on queue by routing status, agents by routing
/// status and by system presence, members; about 38 series a queue.
fn observation_entry(queues: usize) -> QuerySeries {
    let shape = |extra: &str| -> Arc<[String]> {
        let mut names = vec!["query".to_string(), "queue_id".into(), "queue_name".into()];
        if !extra.is_empty() {
            names.push(extra.to_string());
        }
        Arc::from(names)
    };
    let medias = ["voice", "chat", "email", "message", "callback"];
    let statuses = ["IDLE", "INTERACTING", "NOT_RESPONDING", "COMMUNICATING"];
    let routing = [
        "OFF_QUEUE",
        "IDLE",
        "INTERACTING",
        "NOT_RESPONDING",
        "COMMUNICATING",
    ];
    let presences = [
        "AVAILABLE",
        "AWAY",
        "BREAK",
        "BUSY",
        "IDLE",
        "MEAL",
        "MEETING",
        "ON_QUEUE",
        "TRAINING",
    ];
    let families: [(&str, &str, &[&str]); 8] = [
        ("genesys_queue_waiting", "media_type", &medias),
        ("genesys_queue_alerting", "media_type", &medias),
        ("genesys_queue_interacting", "media_type", &medias),
        (
            "genesys_queue_oldest_waiting_seconds",
            "media_type",
            &medias,
        ),
        ("genesys_queue_on_queue_users", "routing_status", &statuses),
        (
            "genesys_queue_user_routing_statuses",
            "routing_status",
            &routing,
        ),
        (
            "genesys_queue_user_presences",
            "system_presence",
            &presences,
        ),
        ("genesys_queue_member_users", "", &[""]),
    ];
    // Sorted by name, as mapping makes them.
    let mut families: Vec<Family> = families
        .into_iter()
        .map(|(name, label, values)| {
            let names = shape(label);
            let samples = (0..queues)
                .flat_map(|queue| {
                    let names = Arc::clone(&names);
                    values.iter().map(move |value| {
                        let mut labels = vec![
                            SMALL.to_string(),
                            format!("{queue:08x}-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
                            format!("Queue {queue} Sales"),
                        ];
                        if !value.is_empty() {
                            labels.push(value.to_string());
                        }
                        Sample {
                            labels: Arc::new(Labels::new(Arc::clone(&names), labels)),
                            value: (queue % 17) as f64,
                        }
                    })
                })
                .collect();
            Family {
                name: name.into(),
                help: format!("Genesys Cloud queue observation {name}").into(),
                samples,
            }
        })
        .collect();
    families.sort_by(|a, b| a.name.cmp(&b.name));
    QuerySeries { families }
}

/// Text bytes, compressed bytes and chunks of the exposition.
fn body_sizes(exposition: &EncodedSeries) -> (usize, usize, usize) {
    (
        exposition.plain_len(),
        exposition.gzip.compressed_len(),
        exposition.plain.len() + exposition.gzip.chunks().len(),
    )
}

fn publish(c: &mut Criterion) {
    // As the exporter runs: large buffers mapped afresh and returned when freed.
    return_large_buffers_to_the_system();
    let small = observation_entry(QUEUES);
    let query = support::query();
    for size in support::selected_sizes(measuring()) {
        let conversations = support::conversation_series(size.queues);
        let store = SnapshotStore::new([
            (query.name.as_str(), query.granularity.to_string()),
            (SMALL, "PT0S".to_string()),
        ]);
        store.publish(SMALL, small.clone());
        let (small_text, small_gzip, _) = body_sizes(&store.exposition());
        store.publish(&query.name, conversations.clone());
        let (text, gzip, chunks) = body_sizes(&store.exposition());
        eprintln!(
            "size {}: {} conversation series and {} observation series; \
             {text} bytes of text, {gzip} compressed, in {chunks} chunks \
             (the observation entry alone: {small_text} bytes, {small_gzip} compressed)",
            size.label,
            conversations.sample_count(),
            small.sample_count(),
        );

        let mut group = c.benchmark_group(format!("publish/{}", size.label));
        if size.queues > 1_000 {
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(20));
        } else {
            group.sample_size(20);
            group.measurement_time(Duration::from_secs(8));
        }
        group.bench_function("small_entry", |b| {
            b.iter_batched(
                || small.clone(),
                |series| store.publish(SMALL, series),
                BatchSize::LargeInput,
            )
        });
        group.bench_function("conversation_entry", |b| {
            b.iter_batched(
                || conversations.clone(),
                |series| store.publish(&query.name, series),
                BatchSize::LargeInput,
            )
        });
        // The whole exposition, as a store holding the conversation entry alone
        // publishes it.
        let alone = SnapshotStore::new([(query.name.as_str(), query.granularity.to_string())]);
        alone.publish(&query.name, conversations.clone());
        group.bench_function("conversation_entry_alone", |b| {
            b.iter_batched(
                || conversations.clone(),
                |series| alone.publish(&query.name, series),
                BatchSize::LargeInput,
            )
        });
        group.finish();
    }
}

criterion_group!(benches, publish);
criterion_main!(benches);
