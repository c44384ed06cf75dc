//! The current set of series, encoded once per poll and swapped in atomically.
//!
//! A scrape must cost next to nothing and never wait on a poll, so everything a scrape
//! sends is prepared when the data changes: each poll replaces its query's series, and
//! the exposition of all queries is encoded again, in both text formats, plain and
//! gzipped, then swapped in with one atomic pointer store. Scrapes load that pointer.
//!
//! The same metric family (say `genesys_conversation_offered`) is exported by several
//! queries, and a family must be written in one piece, so the exposition is encoded from
//! all queries together rather than concatenated per query.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, prometheus_text, text};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::gzip::Piece;
use crate::interval::Interval;
use crate::mapping::{QuerySeries, Sample};

/// One encoding of the conversation series, without the OpenMetrics `# EOF` (the
/// server appends the exporter's own metrics and then ends the exposition).
#[derive(Clone, Debug, Default)]
pub struct Encoded {
    pub plain: Bytes,
    /// The same bytes compressed, ready for clients that accept gzip; the self-metrics
    /// follow as the stream's last piece.
    pub gzip: Piece,
}

/// The conversation series of every query, in both exposition formats.
#[derive(Debug, Default)]
pub struct Exposition {
    pub openmetrics: Encoded,
    pub prometheus_text: Encoded,
    /// Samples in the exposition.
    pub samples: usize,
}

/// What the landing page shows about a query.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryStatus {
    pub name: String,
    pub granularity: String,
    /// Whether a poll has finished at least once (successfully or not): readiness.
    pub attempted: bool,
    pub last_success: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub next_poll: Option<DateTime<Utc>>,
    /// The interval the exported values describe.
    pub interval: Option<Interval>,
    pub samples: usize,
}

/// The store that polls write to and scrapes read from.
#[derive(Debug)]
pub struct SnapshotStore {
    /// The latest good series of each query. The lock also serializes re-encoding.
    series: Mutex<BTreeMap<String, Arc<QuerySeries>>>,
    exposition: ArcSwap<Exposition>,
    statuses: Mutex<Vec<QueryStatus>>,
}

impl SnapshotStore {
    /// A store for the given queries (name, granularity), with nothing exported yet.
    pub fn new<'a>(queries: impl IntoIterator<Item = (&'a str, String)>) -> SnapshotStore {
        let statuses = queries
            .into_iter()
            .map(|(name, granularity)| QueryStatus {
                name: name.to_string(),
                granularity,
                attempted: false,
                last_success: None,
                last_error: None,
                next_poll: None,
                interval: None,
                samples: 0,
            })
            .collect();
        SnapshotStore {
            series: Mutex::new(BTreeMap::new()),
            exposition: ArcSwap::from_pointee(Exposition::default()),
            statuses: Mutex::new(statuses),
        }
    }

    /// The exposition to serve now. Never blocks on a poll.
    pub fn exposition(&self) -> Arc<Exposition> {
        self.exposition.load_full()
    }

    /// Replaces one query's series and re-encodes the exposition. CPU-bound: call it
    /// from a blocking task when the series are large.
    pub fn publish(&self, query: &str, series: QuerySeries) {
        let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
        all.insert(query.to_string(), Arc::new(series));
        // The last exposition's size is a good guess at the next one's: sizing the
        // buffer up front avoids growing it by doubling (a transient 1.5-2x of its size).
        let size_hint = self.exposition.load().openmetrics.plain.len();
        let exposition = encode(all.values().cloned().collect(), size_hint);
        self.exposition.store(Arc::new(exposition));
    }

    /// Changes one query's status.
    pub fn update_status(&self, query: &str, change: impl FnOnce(&mut QueryStatus)) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(status) = statuses.iter_mut().find(|s| s.name == query) {
            change(status);
        }
    }

    /// Every query's status, in configuration order.
    pub fn statuses(&self) -> Vec<QueryStatus> {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// True once every query has been polled at least once.
    pub fn all_attempted(&self) -> bool {
        self.statuses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .all(|s| s.attempted)
    }
}

fn encode(queries: Vec<Arc<QuerySeries>>, size_hint: usize) -> Exposition {
    let samples = queries.iter().map(|q| q.sample_count()).sum();
    let mut registry = Registry::default();
    registry.register_collector(Box::new(MergedSeries(queries)));
    let mut openmetrics = String::with_capacity(size_hint + size_hint / 16);
    // Writing to a String cannot fail, and our collector returns no errors of its own.
    let _ = text::encode_registry(&mut openmetrics, &registry);
    let openmetrics = encoded(openmetrics);
    // Gauges without units or timestamps read the same in both formats; then one body
    // and one gzip serve both. Comparing as the text 0.0.4 encoding is written keeps a
    // second copy of the exposition out of memory and compresses only once (most of the
    // cost of a snapshot).
    let mut same = SameAs {
        expected: &openmetrics.plain,
        position: 0,
    };
    let identical = prometheus_text::encode(&mut same, &registry).is_ok()
        && same.position == same.expected.len();
    let prometheus_text = if identical {
        openmetrics.clone()
    } else {
        let mut prometheus = String::with_capacity(openmetrics.plain.len());
        let _ = prometheus_text::encode(&mut prometheus, &registry);
        encoded(prometheus)
    };
    Exposition {
        openmetrics,
        prometheus_text,
        samples,
    }
}

/// A writer that checks that what is written is `expected`, and fails at the first
/// difference.
struct SameAs<'a> {
    expected: &'a [u8],
    position: usize,
}

impl std::fmt::Write for SameAs<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.position + text.len();
        if self.expected.get(self.position..end) == Some(text.as_bytes()) {
            self.position = end;
            Ok(())
        } else {
            Err(std::fmt::Error)
        }
    }
}

fn encoded(text: String) -> Encoded {
    let plain = Bytes::from(text);
    Encoded {
        gzip: Piece::leading(&plain),
        plain,
    }
}

/// Has glibc's malloc serve every allocation over 128 KiB with its own mmap, returned to
/// the system when freed; call once at start-up.
///
/// glibc raises its mmap threshold to the size of the largest block freed (up to 32
/// MiB), so after the first snapshot is replaced the next ones, tens of MiB each, come
/// from the heap, whose freed space stays in the RSS: at 100k series the peak RSS was
/// 94 MiB with the default and 69 MiB with the threshold fixed (benches/memory.rs).
pub fn return_large_buffers_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only changes a malloc tunable; it is called before the
        // buffers it concerns exist, and any value is valid for M_MMAP_THRESHOLD.
        let changed = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024) };
        if changed == 0 {
            tracing::debug!("glibc refused the mmap threshold; large buffers stay in the heap");
        }
    }
}

/// The series of all queries as one collector, merging families of the same name.
#[derive(Debug)]
struct MergedSeries(Vec<Arc<QuerySeries>>);

impl Collector for MergedSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut families: BTreeMap<&str, (&str, Vec<&Sample>)> = BTreeMap::new();
        for query in &self.0 {
            for family in &query.families {
                families
                    .entry(&family.name)
                    .or_insert_with(|| (&family.help, Vec::new()))
                    .1
                    .extend(family.samples.iter());
            }
        }
        for (name, (help, samples)) in families {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for sample in samples {
                let labels: &[(String, String)] = &sample.labels;
                metric.encode_family(&labels)?.encode_gauge(&sample.value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::Family;
    use std::io::Read;

    fn series(query: &str, value: f64) -> QuerySeries {
        QuerySeries {
            families: vec![Family {
                name: "genesys_conversation_offered".into(),
                help: "Offered".into(),
                samples: vec![Sample {
                    labels: vec![
                        ("query".to_string(), query.to_string()),
                        ("queue_name".to_string(), "Sales \"EU\"\n".to_string()),
                    ]
                    .into(),
                    value,
                }],
            }],
        }
    }

    /// The text of a leading piece, ended as a scrape would end it (here with nothing).
    fn gunzip(piece: &Piece) -> String {
        let body = crate::gzip::member(piece, &Piece::last(b"")).concat();
        let mut text = String::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
        text
    }

    #[test]
    fn queries_sharing_a_family_are_encoded_as_one_family() {
        let store = SnapshotStore::new([("a", "PT30M".to_string()), ("b", "PT1H".to_string())]);
        store.publish("a", series("a", 1.0));
        store.publish("b", series("b", 2.0));
        let exposition = store.exposition();
        let text = std::str::from_utf8(&exposition.prometheus_text.plain).unwrap();
        assert_eq!(
            text.matches("# TYPE genesys_conversation_offered gauge")
                .count(),
            1,
            "{text}"
        );
        assert!(
            text.contains(
                r#"genesys_conversation_offered{query="a",queue_name="Sales \"EU\"\n"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"query="b""#), "{text}");
        let openmetrics = std::str::from_utf8(&exposition.openmetrics.plain).unwrap();
        assert!(
            openmetrics.contains("# TYPE genesys_conversation_offered gauge"),
            "{openmetrics}"
        );
        assert!(
            !openmetrics.contains("# EOF"),
            "the server ends the exposition"
        );
        assert_eq!(exposition.samples, 2);
        // The gzip member holds exactly the plain text.
        assert_eq!(gunzip(&exposition.prometheus_text.gzip), text);
        assert_eq!(gunzip(&exposition.openmetrics.gzip), openmetrics);
    }

    /// Each format is exactly what its encoder writes, whether the two turn out the
    /// same (one shared body) or not.
    #[test]
    fn both_formats_are_their_encoders_output() {
        let odd = |help: &str, value: f64| QuerySeries {
            families: vec![Family {
                name: "genesys_conversation_x".into(),
                help: help.into(),
                samples: series("q", value).families[0].samples.clone(),
            }],
        };
        for (help, value) in [
            ("plain", 1.0),
            ("quote \" and backslash \\ and\nnewline", 0.1),
            ("big", 1e21),
            ("not a number", f64::NAN),
            ("infinite", f64::NEG_INFINITY),
        ] {
            let queries = vec![Arc::new(odd(help, value))];
            let mut registry = Registry::default();
            registry.register_collector(Box::new(MergedSeries(queries.clone())));
            let (mut openmetrics, mut prometheus) = (String::new(), String::new());
            text::encode_registry(&mut openmetrics, &registry).unwrap();
            prometheus_text::encode(&mut prometheus, &registry).unwrap();
            let exposition = encode(queries, 0);
            assert_eq!(
                exposition.openmetrics.plain,
                openmetrics.as_bytes(),
                "{help}"
            );
            assert_eq!(
                exposition.prometheus_text.plain,
                prometheus.as_bytes(),
                "{help}"
            );
            assert_eq!(
                gunzip(&exposition.prometheus_text.gzip),
                prometheus,
                "{help}"
            );
            assert_eq!(gunzip(&exposition.openmetrics.gzip), openmetrics, "{help}");
        }
    }

    #[test]
    fn a_new_poll_replaces_only_its_own_query() {
        let store = SnapshotStore::new([("a", "PT30M".to_string()), ("b", "PT30M".to_string())]);
        store.publish("a", series("a", 1.0));
        store.publish("b", series("b", 2.0));
        store.publish("a", series("a", 7.0));
        let exposition = store.exposition();
        let text = std::str::from_utf8(&exposition.prometheus_text.plain).unwrap();
        assert!(text.contains("} 7"), "{text}");
        assert!(!text.contains("} 1\n"), "{text}");
        assert!(text.contains("} 2"), "{text}");
    }

    #[test]
    fn readiness_waits_for_every_query() {
        let store = SnapshotStore::new([("a", "PT30M".to_string()), ("b", "PT30M".to_string())]);
        assert!(!store.all_attempted());
        store.update_status("a", |s| s.attempted = true);
        assert!(!store.all_attempted());
        store.update_status("b", |s| s.attempted = true);
        assert!(store.all_attempted());
    }
}
