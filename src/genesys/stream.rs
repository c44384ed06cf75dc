//! An aggregates answer read as it streams in: each result (group) is handed on the
//! moment it is parsed, so no answer is ever held whole, in bytes or parsed.
//!
//! The body's chunks go from the async side (which counts them against the response
//! size limit and stops the moment it is passed) over a small bounded channel to a
//! blocking task that parses them with serde_json's reader; a seed over the `results`
//! array hands each result to a [`ResultSink`] right there, on the blocking thread (the
//! live poll maps it into its series), or sends it back over another bounded channel
//! to a caller on the async side (`backfill` maps and writes it while the next ones
//! arrive). serde_json's `from_reader` wants a
//! synchronous `Read`: the blocking task is the bridge (the shape of
//! `tokio_util::io::SyncIoBridge`, without the dependency: two channels and a `Read` of
//! chunks). Bare `NaN`/`Infinity` become `null` on the way ([`NonFiniteAsNull`]).
//!
//! [`SuccessBody`] is how [`super::GenesysClient::send`] reads a successful answer:
//! whole ([`Whole`]), streamed to the async side ([`Streamed`]) or into a sink
//! ([`IntoSink`]), and whether a failed attempt may be made again.

use std::fmt;
use std::io::Read;

use bytes::{Buf, Bytes};
use reqwest::Response;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::sync::mpsc;

use super::bodies::AggregateResult;
use super::nonfinite::NonFiniteAsNull;
use super::read_limited;

/// Chunks in flight between the body and the parser: enough to keep both busy, few
/// enough (hyper's chunks are at most a few tens of KiB) to stay out of the memory.
const CHUNKS_IN_FLIGHT: usize = 16;
/// Results parsed ahead of the caller: a few, since one group of a 31-day job page
/// is about a megabyte parsed (64 of them took a 30-day job of 1,000 queues to 102 MiB,
/// BENCHMARKS.md), and the parser is not the slower side.
const RESULTS_IN_FLIGHT: usize = 8;

/// Why a streamed answer could not be read.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// The connection failed while the body came in.
    Transport(reqwest::Error),
    /// The body passed the size limit; reading stopped there.
    TooLarge,
    /// The body is not the JSON expected.
    Json(String),
    /// The caller asked to stop (its output failed).
    Stopped,
}

/// Takes the results of an aggregates answer as they are parsed, on the parser's
/// blocking thread (so that work done with each, such as mapping it, stays off the
/// async workers).
pub trait ResultSink: Send + 'static {
    /// Takes one result; false stops the answer.
    fn take(&mut self, result: AggregateResult) -> bool;

    /// An attempt begins: what [`ResultSink::forget_attempt`] returns to.
    fn begin_attempt(&mut self) {}

    /// Forgets the results a failed attempt handed on, so that the request may be sent
    /// again; false when it cannot (they were written out).
    fn forget_attempt(&mut self) -> bool {
        false
    }
}

/// What a streamed answer said besides its results.
#[derive(Debug, Default)]
pub(crate) struct StreamEnd {
    /// How many bare `NaN`/`Infinity` tokens were read as `null`.
    pub replaced: usize,
    /// The `cursor` of a page of an asynchronous job's results: where the next page
    /// starts; `None` on the last page (and in a synchronous answer).
    pub cursor: Option<String>,
}

/// What one streamed answer came to.
struct StreamOutcome<S> {
    /// The sink, back from the parser (`None` only if it panicked).
    sink: Option<S>,
    /// Whether a result was handed to the sink.
    handed_on: bool,
    /// What the answer said besides its results, or why it could not be read.
    outcome: Result<StreamEnd, StreamError>,
}

/// Reads an aggregates answer (or a page of a job's results) from `response` into
/// `sink`, each result as it is parsed;
/// refuses the body past `limit` bytes.
async fn stream_into<S: ResultSink>(
    mut response: Response,
    limit: usize,
    sink: S,
) -> StreamOutcome<S> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return StreamOutcome {
            sink: Some(sink),
            handed_on: false,
            outcome: Err(StreamError::TooLarge),
        };
    }
    let (chunks, received) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    let parser = tokio::task::spawn_blocking(move || {
        let filter = NonFiniteAsNull::new(ChunkReader {
            chunks: received,
            current: Bytes::new(),
        });
        let replaced = filter.replaced_tally();
        // Given by value: serde_json then reads each byte from the buffer itself.
        let reader = std::io::BufReader::with_capacity(64 * 1024, filter);
        let mut counted = Counted {
            sink,
            handed_on: false,
            stopped: false,
        };
        let mut json = serde_json::Deserializer::from_reader(reader);
        let outcome = ResponseSeed(&mut counted)
            .deserialize(&mut json)
            .and_then(|cursor| json.end().map(|()| cursor));
        let replaced = replaced.load(std::sync::atomic::Ordering::Relaxed);
        (outcome, replaced, counted)
    });
    // Aborted if this future is dropped (a poller retired by a reload): the body is
    // then no longer read, and the parser ends at the end of its chunks.
    let mut feeder = AbortOnDrop(tokio::spawn(async move {
        let mut total = 0usize;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    total = total.saturating_add(chunk.len());
                    if total > limit {
                        return Some(StreamError::TooLarge);
                    }
                    if chunks.send(chunk).await.is_err() {
                        // The parser stopped early: its error says why.
                        return None;
                    }
                }
                Ok(None) => return None,
                Err(err) => return Some(StreamError::Transport(err)),
            }
        }
    }));
    let failure = (&mut feeder.0).await;
    let (outcome, replaced, counted) = match parser.await {
        Ok(parsed) => parsed,
        Err(err) => {
            return StreamOutcome {
                sink: None,
                handed_on: true,
                outcome: Err(StreamError::Json(format!("the parser stopped: {err}"))),
            };
        }
    };
    let outcome = match failure {
        Err(err) => Err(StreamError::Json(format!("the body reader stopped: {err}"))),
        Ok(Some(failure)) => Err(failure),
        Ok(None) if counted.stopped => Err(StreamError::Stopped),
        Ok(None) => outcome
            .map(|cursor| StreamEnd { replaced, cursor })
            .map_err(|err| StreamError::Json(err.to_string())),
    };
    StreamOutcome {
        sink: Some(counted.sink),
        handed_on: counted.handed_on,
        outcome,
    }
}

/// Reads an aggregates answer from `response`, handing each result to `on_result`
/// (which returns false to stop) on the caller's task as it is parsed; refuses the body
/// past `limit` bytes. `handed_on` is set once a result has been handed on.
async fn stream_results(
    response: Response,
    limit: usize,
    on_result: &mut dyn FnMut(AggregateResult) -> bool,
    handed_on: &mut bool,
) -> Result<StreamEnd, StreamError> {
    let (results, mut parsed) = mpsc::channel::<AggregateResult>(RESULTS_IN_FLIGHT);
    let receiving = async {
        while let Some(result) = parsed.recv().await {
            *handed_on = true;
            if !on_result(result) {
                // Closing the channel stops the parser at its next result (one waiting
                // for room in the channel too), and it the body's reader.
                parsed.close();
                return true;
            }
        }
        false
    };
    // The sink (and so the channel's sender) is dropped as soon as the answer ends,
    // which ends the receiving loop.
    let streaming = async { stream_into(response, limit, Forward(results)).await.outcome };
    let (outcome, stopped) = tokio::join!(streaming, receiving);
    if stopped {
        return Err(StreamError::Stopped);
    }
    outcome
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A sink that passes each result on over a channel, to a caller on the async side.
struct Forward(mpsc::Sender<AggregateResult>);

impl ResultSink for Forward {
    fn take(&mut self, result: AggregateResult) -> bool {
        self.0.blocking_send(result).is_ok()
    }
}

/// A sink, and whether it took a result or stopped the answer.
struct Counted<S> {
    sink: S,
    handed_on: bool,
    stopped: bool,
}

impl<S: ResultSink> Counted<S> {
    fn take(&mut self, result: AggregateResult) -> bool {
        self.handed_on = true;
        let more = self.sink.take(result);
        self.stopped = !more;
        more
    }
}

/// How the body of a successful answer is read: whole ([`Whole`]) or handed on
/// result by result as it streams in ([`Streamed`]).
pub(super) trait SuccessBody {
    type Output;
    async fn read(&mut self, response: Response, limit: usize)
    -> Result<Self::Output, StreamError>;
    /// Whether a failed attempt may be made again: not once part of an answer was
    /// handed on, unless its taker forgets it.
    fn retriable(&mut self) -> bool {
        true
    }
}

/// The body whole, for the callers that parse it themselves.
pub(super) struct Whole;

impl SuccessBody for Whole {
    type Output = Bytes;

    async fn read(&mut self, response: Response, limit: usize) -> Result<Bytes, StreamError> {
        read_limited(response, limit)
            .await
            .map_err(StreamError::Transport)?
            .ok_or(StreamError::TooLarge)
    }
}

/// An aggregates answer (or a page of a job's results) handed on result by result; the
/// output says how many bare `NaN`/`Infinity` tokens were read as `null`, and the page's
/// cursor.
pub(super) struct Streamed<'a> {
    pub(super) on_result: &'a mut dyn FnMut(AggregateResult) -> bool,
    pub(super) handed_on: bool,
}

impl SuccessBody for Streamed<'_> {
    type Output = StreamEnd;

    async fn read(&mut self, response: Response, limit: usize) -> Result<StreamEnd, StreamError> {
        stream_results(response, limit, self.on_result, &mut self.handed_on).await
    }

    fn retriable(&mut self) -> bool {
        !self.handed_on
    }
}

/// An aggregates answer handed result by result to a [`ResultSink`] on the parser's
/// thread; the output is what the answer said besides its results.
pub(super) struct IntoSink<S> {
    /// The sink, between attempts (and after the last).
    pub(super) sink: Option<S>,
    /// Whether the last attempt handed a result on.
    pub(super) handed_on: bool,
}

impl<S: ResultSink> SuccessBody for IntoSink<S> {
    type Output = StreamEnd;

    async fn read(&mut self, response: Response, limit: usize) -> Result<StreamEnd, StreamError> {
        let Some(mut sink) = self.sink.take() else {
            return Err(StreamError::Stopped);
        };
        sink.begin_attempt();
        let streamed = stream_into(response, limit, sink).await;
        self.sink = streamed.sink;
        self.handed_on = streamed.handed_on;
        streamed.outcome
    }

    fn retriable(&mut self) -> bool {
        let Some(sink) = &mut self.sink else {
            return false;
        };
        if self.handed_on {
            if !sink.forget_attempt() {
                return false;
            }
            self.handed_on = false;
        }
        true
    }
}

/// The chunks of a body as a blocking `Read`; the end of the channel is the end of the
/// body (or of what was read of it: the parser then fails on the cut JSON, and the
/// feeder's error says why).
struct ChunkReader {
    chunks: mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.current.len());
        out[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

/// The answer object: its `results` handed on one by one, its `cursor` (a job's page)
/// kept, anything else skipped.
struct ResponseSeed<'a, S>(&'a mut Counted<S>);

impl<'de, S: ResultSink> DeserializeSeed<'de> for ResponseSeed<'_, S> {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, S: ResultSink> Visitor<'de> for ResponseSeed<'_, S> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an aggregates response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let mut cursor = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "results" => map.next_value_seed(ResultsSeed(&mut *self.0))?,
                "cursor" => cursor = map.next_value::<Option<String>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(cursor)
    }
}

/// The `results` array (or `null`), each result handed on as soon as it is read.
struct ResultsSeed<'a, S>(&'a mut Counted<S>);

impl<'de, S: ResultSink> DeserializeSeed<'de> for ResultsSeed<'_, S> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: ResultSink> Visitor<'de> for ResultsSeed<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of results")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(result) = seq.next_element::<AggregateResult>()? {
            if !self.0.take(result) {
                return Err(de::Error::custom("the reader of the results stopped"));
            }
        }
        Ok(())
    }
}
