//! The current set of series, encoded once per poll and swapped in atomically.
//!
//! A scrape must cost next to nothing and never wait on a poll, so everything a scrape
//! sends is prepared when the data changes: each poll replaces its query's series, and
//! the exposition of all queries is written again ([`crate::exposition`]), plain and
//! gzipped, then swapped in with one atomic pointer store. Scrapes load that pointer.
//!
//! The same metric family (say `genesys_conversation_offered`) is exported by several
//! queries, and a family must be written in one piece, so the exposition is written from
//! all queries together rather than concatenated per query.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::exposition;
use crate::gzip::Piece;
use crate::interval::Interval;
use crate::platform::large_buffer;
use crate::series::QuerySeries;

/// The conversation series of every query, without the OpenMetrics `# EOF` (the server
/// appends the exporter's own metrics and then ends the exposition). The same bytes are
/// text format 0.0.4 and OpenMetrics (see [`crate::exposition`]), so one body serves both.
#[derive(Debug, Default)]
pub struct EncodedSeries {
    pub plain: Bytes,
    /// The same bytes compressed, ready for clients that accept gzip; the self-metrics
    /// follow as the stream's last piece.
    pub gzip: Piece,
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
    /// The interval the exported values describe (queries).
    pub interval: Option<Interval>,
    /// When the exported values were observed (observation sets), by Genesys' clock.
    pub observed_at: Option<DateTime<Utc>>,
    pub samples: usize,
}

impl QueryStatus {
    /// A query not polled yet.
    fn new(name: &str, granularity: String) -> QueryStatus {
        QueryStatus {
            name: name.to_string(),
            granularity,
            attempted: false,
            last_success: None,
            last_error: None,
            next_poll: None,
            interval: None,
            observed_at: None,
            samples: 0,
        }
    }
}

/// The store that polls write to and scrapes read from.
#[derive(Debug)]
pub struct SnapshotStore {
    /// The latest good series of each query. The lock also serializes re-encoding.
    series: Mutex<BTreeMap<String, Arc<QuerySeries>>>,
    exposition: ArcSwap<EncodedSeries>,
    statuses: Mutex<Vec<QueryStatus>>,
}

impl SnapshotStore {
    /// A store for the given queries (name, granularity), with nothing exported yet.
    pub fn new<'a>(queries: impl IntoIterator<Item = (&'a str, String)>) -> SnapshotStore {
        let statuses = queries
            .into_iter()
            .map(|(name, granularity)| QueryStatus::new(name, granularity))
            .collect();
        SnapshotStore {
            series: Mutex::new(BTreeMap::new()),
            exposition: ArcSwap::from_pointee(EncodedSeries::default()),
            statuses: Mutex::new(statuses),
        }
    }

    /// The exposition to serve now. Never blocks on a poll.
    pub fn exposition(&self) -> Arc<EncodedSeries> {
        self.exposition.load_full()
    }

    /// Replaces one query's series and re-encodes the exposition. CPU-bound: call it
    /// from a blocking task when the series are large.
    pub fn publish(&self, query: &str, series: QuerySeries) {
        self.publish_while(query, series, &AtomicBool::new(true));
    }

    /// [`SnapshotStore::publish`], unless `active` has been cleared: a poller retired by a
    /// reload may still be encoding, and its series must not come back after
    /// [`SnapshotStore::reconfigure`] removed them. `active` is read under the lock that
    /// `reconfigure` takes, so the two cannot interleave.
    pub fn publish_while(&self, query: &str, series: QuerySeries, active: &AtomicBool) {
        let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
        if !active.load(Ordering::Acquire) {
            return;
        }
        all.insert(query.to_string(), Arc::new(series));
        self.encode(&all);
    }

    /// Makes the store hold exactly these queries (name, granularity), in this order: the
    /// series and status of a query that stays are kept, a new one starts empty, and the
    /// series of a query no longer listed disappear from the next scrape.
    pub fn reconfigure<'a>(&self, queries: impl IntoIterator<Item = (&'a str, String)>) {
        let mut all = self.series.lock().unwrap_or_else(|p| p.into_inner());
        let mut statuses = self.statuses.lock().unwrap_or_else(|p| p.into_inner());
        let mut old: BTreeMap<String, QueryStatus> = statuses
            .drain(..)
            .map(|status| (status.name.clone(), status))
            .collect();
        for (name, granularity) in queries {
            let status = match old.remove(name) {
                Some(status) => QueryStatus {
                    granularity,
                    ..status
                },
                None => QueryStatus::new(name, granularity),
            };
            statuses.push(status);
        }
        let before = all.len();
        all.retain(|name, _| statuses.iter().any(|s| &s.name == name));
        drop(statuses);
        if all.len() != before {
            self.encode(&all);
        }
    }

    /// Writes the exposition of `all` and swaps it in.
    fn encode(&self, all: &BTreeMap<String, Arc<QuerySeries>>) {
        // The last exposition's size is a good guess at the next one's: sizing the
        // buffer up front avoids growing it by doubling (a transient 1.5-2x of its size).
        let size_hint = self.exposition.load().plain.len();
        let queries: Vec<Arc<QuerySeries>> = all.values().cloned().collect();
        let mut plain = large_buffer(size_hint + size_hint / 16);
        exposition::write(&queries, &mut plain);
        let plain = Bytes::from(plain);
        let exposition = EncodedSeries {
            gzip: Piece::leading(&plain),
            samples: queries.iter().map(|q| q.sample_count()).sum(),
            plain,
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::{Family, Labels, Sample};
    use std::io::Read;

    fn series(query: &str, value: f64) -> QuerySeries {
        QuerySeries {
            families: vec![Family {
                name: "genesys_conversation_offered".into(),
                help: "Offered".into(),
                samples: vec![Sample {
                    labels: Arc::new(Labels::new(
                        Arc::from(["query".to_string(), "queue_name".to_string()]),
                        vec![query.to_string(), "Sales \"EU\"\n".to_string()],
                    )),
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
        let text = std::str::from_utf8(&exposition.plain).unwrap();
        assert_eq!(
            text.matches("# TYPE genesys_conversation_offered gauge")
                .count(),
            1,
            "{text}"
        );
        assert!(
            text.contains(
                r#"genesys_conversation_offered{query="a",queue_name="Sales \"EU\"\n"} 1.0"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"query="b""#), "{text}");
        assert!(!text.contains("# EOF"), "the server ends the exposition");
        assert_eq!(exposition.samples, 2);
        // The gzip member holds exactly the plain text.
        assert_eq!(gunzip(&exposition.gzip), text);
    }

    #[test]
    fn a_new_poll_replaces_only_its_own_query() {
        let store = SnapshotStore::new([("a", "PT30M".to_string()), ("b", "PT30M".to_string())]);
        store.publish("a", series("a", 1.0));
        store.publish("b", series("b", 2.0));
        store.publish("a", series("a", 7.0));
        let exposition = store.exposition();
        let text = std::str::from_utf8(&exposition.plain).unwrap();
        assert!(text.contains("} 7.0\n"), "{text}");
        assert!(!text.contains("} 1.0\n"), "{text}");
        assert!(text.contains("} 2.0\n"), "{text}");
        assert_eq!(gunzip(&exposition.gzip), text);
    }

    #[test]
    fn reconfigure_keeps_staying_queries_and_drops_removed_ones() {
        let store = SnapshotStore::new([("a", "PT30M".to_string()), ("b", "PT30M".to_string())]);
        store.publish("a", series("a", 1.0));
        store.publish("b", series("b", 2.0));
        store.update_status("a", |s| s.attempted = true);
        store.reconfigure([("c", "PT1H".to_string()), ("a", "PT15M".to_string())]);
        let text = String::from_utf8(store.exposition().plain.to_vec()).unwrap();
        assert!(text.contains(r#"query="a""#), "{text}");
        assert!(!text.contains(r#"query="b""#), "{text}");
        let statuses = store.statuses();
        let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["c", "a"]);
        assert!(statuses[1].attempted && statuses[1].granularity == "PT15M");
        assert!(!statuses[0].attempted);
        // A retired poller's late publish does not bring its series back.
        store.publish_while("b", series("b", 3.0), &AtomicBool::new(false));
        let text = String::from_utf8(store.exposition().plain.to_vec()).unwrap();
        assert!(!text.contains(r#"query="b""#), "{text}");
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
