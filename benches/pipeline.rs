//! The poll path at 10k, 100k and 500k series: parsing an aggregates response, mapping
//! it to series, and encoding the snapshot (`encode`: writing the exposition, `write`,
//! and compressing it, `gzip`), each against `serde_json::Value` parsing of
//! the same bytes as the baseline (the target: the exporter's typed parse is no slower,
//! see BENCHMARKS.md).
//!
//! `cargo bench --bench pipeline` measures every size; without `--bench` (as
//! `cargo test --benches` runs it) criterion runs each benchmark once, at the smallest
//! size only, so the bench cannot rot without costing CI much.

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use genesys_cloud_exporter::exposition;
use genesys_cloud_exporter::genesys::bodies::AggregateResponse;
use genesys_cloud_exporter::gzip;
use genesys_cloud_exporter::mapping::{GroupMemory, map_response};
use genesys_cloud_exporter::platform::{large_buffer, return_large_buffers_to_the_system};
use genesys_cloud_exporter::snapshot::SnapshotStore;

/// Whether criterion measures (`cargo bench`) rather than runs each bench once.
fn measuring() -> bool {
    std::env::args().any(|arg| arg == "--bench")
}

fn pipeline(c: &mut Criterion) {
    // As the exporter runs: large buffers mapped afresh and returned when freed.
    return_large_buffers_to_the_system();
    let sizes = support::selected_sizes(measuring());
    let query = support::query();
    let interval = support::interval();
    for size in &sizes {
        let response = support::fetch(size.queues);
        let bytes = response.body.as_slice();
        let parsed: AggregateResponse = serde_json::from_slice(bytes).expect("valid JSON");
        let mapped = map_response(
            &query,
            &interval,
            &parsed,
            &response.queue_names,
            &mut GroupMemory::default(),
        );
        let store = SnapshotStore::new([(query.name.as_str(), query.granularity.to_string())]);
        store.publish(&query.name, mapped.series.clone());
        let exposition = store.exposition();
        eprintln!(
            "size {}: {} queues, {} groups, {} response bytes, {} series, \
             {} bytes of exposition ({} gzipped)",
            size.label,
            size.queues,
            parsed.results.len(),
            bytes.len(),
            mapped.series.sample_count(),
            exposition.plain_len(),
            exposition.gzip.compressed_len(),
        );

        // One group per size, so the baseline and the exporter's steps sit side by side.
        let mut group = c.benchmark_group(format!("poll/{}", size.label));
        configure(&mut group, size.queues);
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function("serde_json_value", |b| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(bytes)))
        });
        group.bench_function("parse", |b| {
            b.iter(|| serde_json::from_slice::<AggregateResponse>(black_box(bytes)))
        });
        group.bench_function("map", |b| {
            b.iter(|| {
                map_response(
                    &query,
                    &interval,
                    &parsed,
                    &response.queue_names,
                    &mut GroupMemory::default(),
                )
            })
        });
        let queries = [std::sync::Arc::new(mapped.series.clone())];
        group.bench_function("write", |b| {
            b.iter(|| {
                let mut out = large_buffer(exposition.plain_len());
                exposition::write(black_box(&queries), &mut out);
                out
            })
        });
        let text = exposition.plain.concat();
        let whole = 0..text.len();
        group.bench_function("gzip", |b| {
            b.iter(|| {
                gzip::compress_spans(
                    black_box(&text),
                    std::slice::from_ref(&whole),
                    gzip::MAX_THREADS,
                )
            })
        });
        group.bench_function("encode", |b| {
            b.iter_batched(
                || mapped.series.clone(),
                |series| store.publish(&query.name, series),
                BatchSize::LargeInput,
            )
        });
        group.bench_function("parse_map_encode", |b| {
            b.iter(|| {
                let parsed: AggregateResponse =
                    serde_json::from_slice(black_box(bytes)).expect("valid JSON");
                let mapped = map_response(
                    &query,
                    &interval,
                    &parsed,
                    &response.queue_names,
                    &mut GroupMemory::default(),
                );
                store.publish(&query.name, mapped.series);
            })
        });
        group.finish();
    }
}

/// Fewer, shorter samples for the large sizes, whose iterations take up to seconds.
fn configure(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    queues: usize,
) {
    if queues > 1_000 {
        group.sample_size(10);
        group.measurement_time(Duration::from_secs(20));
    } else {
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(8));
    }
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
