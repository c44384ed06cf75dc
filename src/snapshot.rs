//! The current exposition, kept in pieces per entry and family, joined and swapped in
//! atomically.
//!
//! A scrape must cost next to nothing and never wait on a poll, so everything a scrape
//! sends is prepared when the data changes, and swapped in with one atomic pointer
//! store; scrapes load that pointer. And a publish must cost in proportion to what
//! changed: a pushed queue observation set may publish a few times a second beside a
//! query of 500k series. So each entry (a query, an observation set...) is encoded on its
//! own, plain and gzipped, family by family ([`crate::exposition::write_entry`],
//! [`crate::gzip::compress_spans`]); a publish encodes only its entry and then joins every
//! entry's pieces, which copies no text.
//!
//! The same metric family (say `genesys_conversation_offered`) is exported by several
//! entries, and a family must be written in one piece: the join writes families sorted by
//! name, each with the header of the first entry (by name) that exports it and then every
//! entry's samples of it in entry order, exactly as [`crate::exposition::write`] writes
//! all entries at once.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::exposition;
use crate::gzip::{self, Joined, Sum};
use crate::interval::Interval;
use crate::platform::large_buffer;
use crate::series::QuerySeries;

/// The series of every entry, without the OpenMetrics `# EOF` (the server appends the
/// exporter's own metrics and then ends the exposition). The same bytes are text format
/// 0.0.4 and OpenMetrics (see [`crate::exposition`]), so one body serves both.
#[derive(Debug, Default)]
pub struct EncodedSeries {
    /// The text, as chunks to send one after the other (slices of the entries' buffers).
    pub plain: Vec<Bytes>,
    /// The same bytes compressed, ready for clients that accept gzip; the self-metrics
    /// follow as the stream's last piece.
    pub gzip: Joined,
    /// Samples in the exposition.
    pub samples: usize,
}

impl EncodedSeries {
    /// Bytes of text in all.
    pub fn plain_len(&self) -> usize {
        self.plain.iter().map(Bytes::len).sum()
    }
}

/// One entry's series, encoded: its text (every family's header, then its samples) and
/// the same compressed, a leading piece per header and per family's samples.
#[derive(Debug)]
struct EncodedEntry {
    plain: Bytes,
    deflate: Bytes,
    families: Vec<EncodedFamily>,
    samples: usize,
    /// Which publish this is ([`SnapshotStore::publish_while`]): a later one wins.
    ticket: u64,
}

#[derive(Debug)]
struct EncodedFamily {
    name: Arc<str>,
    header: Span,
    samples: Span,
}

/// Where a part of an entry lies in its text and in its deflate, and the sum of its text.
#[derive(Debug)]
struct Span {
    plain: Range<usize>,
    deflate: Range<usize>,
    sum: Sum,
}

impl EncodedEntry {
    /// Writes and compresses one entry's series. CPU-bound, and the only part of a
    /// publish whose cost grows with the entry's size.
    fn encode(
        series: &QuerySeries,
        size_hint: usize,
        ticket: u64,
        max_threads: usize,
    ) -> EncodedEntry {
        // The last text's size is a good guess at the next one's: sizing the buffer up
        // front avoids growing it by doubling (a transient 1.5-2x of its size), and a
        // large buffer gets huge pages.
        let mut text = large_buffer(size_hint + size_hint / 16);
        let families = exposition::write_entry(series, &mut text);
        let ranges: Vec<Range<usize>> = families
            .iter()
            .flat_map(|f| [f.header.clone(), f.samples.clone()])
            .collect();
        let compressed = gzip::compress_spans(&text, &ranges, max_threads);
        let mut spans = compressed
            .spans
            .into_iter()
            .zip(ranges)
            .map(|((deflate, sum), plain)| Span {
                plain,
                deflate,
                sum,
            });
        let families = families
            .into_iter()
            .filter_map(|family| {
                Some(EncodedFamily {
                    name: family.name,
                    header: spans.next()?,
                    samples: spans.next()?,
                })
            })
            .collect();
        EncodedEntry {
            plain: Bytes::from(text),
            deflate: compressed.deflate,
            families,
            samples: series.sample_count(),
            ticket,
        }
    }
}

/// Joins entries' spans into chunks, one chunk for spans that follow each other in the
/// same entry's buffers (a family's header and samples; one entry's consecutive
/// families), so that the body has few chunks where it can.
#[derive(Default)]
struct Joiner<'a> {
    plain: Vec<Bytes>,
    gzip: Joined,
    /// The chunk being extended: its entry, its ranges and its sum.
    open: Option<(&'a EncodedEntry, Range<usize>, Range<usize>, Sum)>,
}

impl<'a> Joiner<'a> {
    fn push(&mut self, entry: &'a EncodedEntry, span: &Span) {
        if let Some((open_entry, plain, deflate, sum)) = &mut self.open
            && std::ptr::eq(*open_entry, entry)
            && plain.end == span.plain.start
            && deflate.end == span.deflate.start
        {
            plain.end = span.plain.end;
            deflate.end = span.deflate.end;
            sum.append(&span.sum);
            return;
        }
        self.close();
        self.open = Some((
            entry,
            span.plain.clone(),
            span.deflate.clone(),
            span.sum.clone(),
        ));
    }

    fn close(&mut self) {
        if let Some((entry, plain, deflate, sum)) = self.open.take() {
            if !plain.is_empty() {
                self.plain.push(entry.plain.slice(plain));
            }
            self.gzip.push(entry.deflate.slice(deflate), &sum);
        }
    }

    /// The exposition of `entries` (in name order): families sorted by name, each with
    /// the header of the first entry that exports it, then every entry's samples.
    fn join(entries: &'a BTreeMap<String, Arc<EncodedEntry>>) -> EncodedSeries {
        let mut families: BTreeMap<&str, Vec<(&EncodedEntry, &EncodedFamily)>> = BTreeMap::new();
        for entry in entries.values() {
            for family in &entry.families {
                families
                    .entry(&family.name)
                    .or_default()
                    .push((entry, family));
            }
        }
        let mut joiner = Joiner::default();
        for parts in families.values() {
            for (index, (entry, family)) in parts.iter().enumerate() {
                if index == 0 {
                    joiner.push(entry, &family.header);
                }
                joiner.push(entry, &family.samples);
            }
        }
        joiner.close();
        EncodedSeries {
            plain: joiner.plain,
            gzip: joiner.gzip,
            samples: entries.values().map(|e| e.samples).sum(),
        }
    }
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
    /// The latest good encoding of each entry. The lock serializes joining; encoding an
    /// entry happens outside it, so a small entry's publish never waits for a large
    /// entry's encoding.
    entries: Mutex<BTreeMap<String, Arc<EncodedEntry>>>,
    /// Numbers publishes in the order they began.
    tickets: AtomicU64,
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
            entries: Mutex::new(BTreeMap::new()),
            tickets: AtomicU64::new(0),
            exposition: ArcSwap::from_pointee(EncodedSeries::default()),
            statuses: Mutex::new(statuses),
        }
    }

    /// The exposition to serve now. Never blocks on a poll.
    pub fn exposition(&self) -> Arc<EncodedSeries> {
        self.exposition.load_full()
    }

    /// Replaces one entry's series: encodes that entry alone, then joins it with the
    /// others' pieces. CPU-bound in proportion to this entry's series: call it from a
    /// blocking task when they are large.
    pub fn publish(&self, query: &str, series: QuerySeries) {
        self.publish_while(query, series, &AtomicBool::new(true));
    }

    /// [`SnapshotStore::publish`], unless `active` has been cleared: a poller retired by a
    /// reload may still be encoding, and its series must not come back after
    /// [`SnapshotStore::reconfigure`] removed them. `active` is read under the lock that
    /// `reconfigure` takes, so the two cannot interleave. Of two publishes of one entry
    /// that overlap, the one that began last stays.
    pub fn publish_while(&self, query: &str, series: QuerySeries, active: &AtomicBool) {
        self.encode_and_install(query, series, active, gzip::MAX_THREADS);
    }

    /// [`SnapshotStore::publish_while`] for an entry published a few times a second (a
    /// pushed set): compressed on one thread, so that on a machine of two cores a scrape
    /// never waits for a core while one of these publishes runs (BENCHMARKS.md, "Push:
    /// freshness and cost").
    pub fn publish_often_while(&self, query: &str, series: QuerySeries, active: &AtomicBool) {
        self.encode_and_install(query, series, active, 1);
    }

    fn encode_and_install(
        &self,
        query: &str,
        series: QuerySeries,
        active: &AtomicBool,
        max_threads: usize,
    ) {
        let ticket = self.tickets.fetch_add(1, Ordering::Relaxed);
        let size_hint = self
            .lock_entries()
            .get(query)
            .map_or(0, |entry| entry.plain.len());
        let encoded = EncodedEntry::encode(&series, size_hint, ticket, max_threads);
        drop(series);
        self.install(query, encoded, active);
    }

    /// Swaps in an exposition with `encoded` as `query`'s entry, unless `active` has been
    /// cleared or a publish of the entry that began later has already landed.
    fn install(&self, query: &str, encoded: EncodedEntry, active: &AtomicBool) {
        let mut entries = self.lock_entries();
        if !active.load(Ordering::Acquire)
            || entries
                .get(query)
                .is_some_and(|old| old.ticket > encoded.ticket)
        {
            return;
        }
        entries.insert(query.to_string(), Arc::new(encoded));
        self.exposition.store(Arc::new(Joiner::join(&entries)));
    }

    fn lock_entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<EncodedEntry>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes the store hold exactly these queries (name, granularity), in this order: the
    /// series and status of a query that stays are kept, a new one starts empty, and the
    /// series of a query no longer listed disappear from the next scrape.
    pub fn reconfigure<'a>(&self, queries: impl IntoIterator<Item = (&'a str, String)>) {
        let mut entries = self.lock_entries();
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
        let before = entries.len();
        entries.retain(|name, _| statuses.iter().any(|s| &s.name == name));
        drop(statuses);
        if entries.len() != before {
            self.exposition.store(Arc::new(Joiner::join(&entries)));
        }
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
    use crate::gzip::tests::gunzip_one_member;
    use crate::series::{Family, Labels, Sample};

    fn family(name: &str, entry: &str, values: &[f64]) -> Family {
        let names: Arc<[String]> = Arc::from(["query".to_string(), "queue_name".to_string()]);
        Family {
            name: name.into(),
            help: format!("Help of {name}").into(),
            samples: values
                .iter()
                .enumerate()
                .map(|(index, &value)| Sample {
                    labels: Arc::new(Labels::new(
                        Arc::clone(&names),
                        vec![entry.to_string(), format!("Sales \"EU\"\n{index}")],
                    )),
                    value,
                })
                .collect(),
        }
    }

    fn series(query: &str, value: f64) -> QuerySeries {
        QuerySeries {
            families: vec![family("genesys_conversation_offered", query, &[value])],
        }
    }

    /// The plain text served, after checking that the gzip body, ended as a scrape would
    /// end it (here with nothing), decodes to exactly the same bytes.
    fn served(exposition: &EncodedSeries) -> String {
        let plain = exposition.plain.concat();
        let body = gzip::member(&exposition.gzip, &gzip::Piece::last(b"")).concat();
        assert_eq!(gunzip_one_member(&body), plain);
        String::from_utf8(plain).unwrap()
    }

    /// What [`exposition::write`] writes of all these entries at once.
    fn written_at_once(entries: &[&QuerySeries]) -> String {
        let entries: Vec<Arc<QuerySeries>> =
            entries.iter().map(|e| Arc::new((*e).clone())).collect();
        let mut out = Vec::new();
        exposition::write(&entries, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn queries_sharing_a_family_are_encoded_as_one_family() {
        let store = SnapshotStore::new([("a", "PT30M".to_string()), ("b", "PT1H".to_string())]);
        store.publish("a", series("a", 1.0));
        store.publish("b", series("b", 2.0));
        let exposition = store.exposition();
        let text = served(&exposition);
        assert_eq!(
            text.matches("# TYPE genesys_conversation_offered gauge")
                .count(),
            1,
            "{text}"
        );
        assert!(
            text.contains(
                r#"genesys_conversation_offered{query="a",queue_name="Sales \"EU\"\n0"} 1.0"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"query="b""#), "{text}");
        assert!(!text.contains("# EOF"), "the server ends the exposition");
        assert_eq!(exposition.samples, 2);
        assert_eq!(exposition.plain_len(), text.len());
    }

    #[test]
    fn a_family_spread_over_entries_is_one_block_whatever_the_publish_order() {
        let a = QuerySeries {
            families: vec![
                family("genesys_x", "a", &[1.0, 2.0]),
                family("genesys_y", "a", &[3.0]),
            ],
        };
        let b = QuerySeries {
            families: vec![
                family("genesys_w", "b", &[4.0]),
                family("genesys_y", "b", &[5.0, 6.0]),
                family("genesys_z", "b", &[]),
            ],
        };
        let c = QuerySeries {
            families: vec![
                family("genesys_x", "c", &[7.0]),
                family("genesys_y", "c", &[8.0]),
            ],
        };
        let expected = written_at_once(&[&a, &b, &c]);
        let entries = [("a", &a), ("b", &b), ("c", &c)];
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for order in orders {
            let store = SnapshotStore::new(entries.map(|(name, _)| (name, "PT30M".to_string())));
            for index in order {
                let (name, series) = entries[index];
                store.publish(name, series.clone());
            }
            // Once more, the first published again: it moves nowhere.
            let (name, series) = entries[order[0]];
            store.publish(name, series.clone());
            let text = served(&store.exposition());
            assert_eq!(text, expected, "published in the order {order:?}");
        }
        for name in ["genesys_w", "genesys_x", "genesys_y", "genesys_z"] {
            assert_eq!(expected.matches(&format!("# TYPE {name} gauge")).count(), 1);
        }
        // Entry a's samples of y, then b's, then c's, under a's header.
        let y = &expected[expected.find("# HELP genesys_y").unwrap()..];
        let y = &y[..y.find("# HELP genesys_z").unwrap()];
        let queries: Vec<&str> = y
            .lines()
            .skip(2)
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        assert_eq!(queries, ["a", "b", "b", "c"], "{y}");
    }

    #[test]
    fn one_entry_is_served_as_one_chunk() {
        let store = SnapshotStore::new([("a", "PT30M".to_string())]);
        let values: Vec<f64> = (0..1_000).map(f64::from).collect();
        store.publish(
            "a",
            QuerySeries {
                families: vec![
                    family("genesys_x", "a", &values),
                    family("genesys_y", "a", &values),
                ],
            },
        );
        let exposition = store.exposition();
        served(&exposition);
        assert_eq!(exposition.plain.len(), 1);
        assert_eq!(exposition.gzip.chunks().len(), 1);
    }

    #[test]
    fn a_new_poll_replaces_only_its_own_query() {
        let store = SnapshotStore::new([("a", "PT30M".to_string()), ("b", "PT30M".to_string())]);
        store.publish("a", series("a", 1.0));
        store.publish("b", series("b", 2.0));
        store.publish("a", series("a", 7.0));
        let text = served(&store.exposition());
        assert!(text.contains("} 7.0\n"), "{text}");
        assert!(!text.contains("} 1.0\n"), "{text}");
        assert!(text.contains("} 2.0\n"), "{text}");
    }

    #[test]
    fn republishing_an_entry_leaves_the_others_pieces_untouched() {
        let store =
            SnapshotStore::new([("big", "PT30M".to_string()), ("small", "PT30M".to_string())]);
        let values: Vec<f64> = (0..2_000).map(f64::from).collect();
        let big = QuerySeries {
            families: vec![
                family("genesys_x", "big", &values),
                family("genesys_y", "big", &values),
            ],
        };
        store.publish("big", big);
        store.publish("small", series("small", 1.0));
        let before = Arc::clone(&store.lock_entries()["big"]);
        store.publish("small", series("small", 2.0));
        let after = Arc::clone(&store.lock_entries()["big"]);
        assert!(
            Arc::ptr_eq(&before, &after),
            "the big entry was encoded again"
        );
        // What a scrape sends of the big entry is its own buffers, not a copy.
        let exposition = store.exposition();
        let within = |chunk: &Bytes, buffer: &Bytes| {
            let range = buffer.as_ptr_range();
            range.contains(&chunk.as_ptr()) && chunk.len() <= buffer.len()
        };
        assert!(exposition.plain.iter().any(|c| within(c, &before.plain)));
        assert!(
            exposition
                .gzip
                .chunks()
                .iter()
                .any(|c| within(c, &before.deflate))
        );
        let text = served(&exposition);
        assert!(
            text.contains(r#"{query="small",queue_name="Sales \"EU\"\n0"} 2.0"#),
            "{text}"
        );
    }

    #[test]
    fn of_two_overlapping_publishes_of_an_entry_the_later_one_stays() {
        let store = SnapshotStore::new([("a", "PT30M".to_string())]);
        let active = AtomicBool::new(true);
        let earlier = EncodedEntry::encode(&series("a", 1.0), 0, 1, 1);
        let later = EncodedEntry::encode(&series("a", 2.0), 0, 2, 1);
        store.install("a", later, &active);
        store.install("a", earlier, &active);
        let text = served(&store.exposition());
        assert!(text.contains("} 2.0\n"), "{text}");
        assert!(!text.contains("} 1.0\n"), "{text}");
    }

    #[test]
    fn reconfigure_keeps_staying_queries_and_drops_removed_ones() {
        let store = SnapshotStore::new([("a", "PT30M".to_string()), ("b", "PT30M".to_string())]);
        store.publish("a", series("a", 1.0));
        store.publish("b", series("b", 2.0));
        store.update_status("a", |s| s.attempted = true);
        store.reconfigure([("c", "PT1H".to_string()), ("a", "PT15M".to_string())]);
        let text = served(&store.exposition());
        assert!(text.contains(r#"query="a""#), "{text}");
        assert!(!text.contains(r#"query="b""#), "{text}");
        let statuses = store.statuses();
        let names: Vec<&str> = statuses.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["c", "a"]);
        assert!(statuses[1].attempted && statuses[1].granularity == "PT15M");
        assert!(!statuses[0].attempted);
        // A retired poller's late publish does not bring its series back.
        store.publish_while("b", series("b", 3.0), &AtomicBool::new(false));
        let text = served(&store.exposition());
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
