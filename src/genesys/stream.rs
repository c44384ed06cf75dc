//! An aggregates answer read as it streams in: each result (group) is handed on the
//! moment it is parsed, so no answer is ever held whole, in bytes or parsed.
//!
//! The body's chunks go from the async side (which counts them against the response
//! size limit and stops the moment it is passed) over a small bounded channel to a
//! blocking task that parses them with serde_json's reader; a seed over the `results`
//! array sends each result back over another bounded channel to the caller, which maps
//! and writes it while the next ones arrive. serde_json's `from_reader` wants a
//! synchronous `Read`: the blocking task is the bridge (the shape of
//! `tokio_util::io::SyncIoBridge`, without the dependency: two channels and a `Read` of
//! chunks). Bare `NaN`/`Infinity` become `null` on the way ([`NonFiniteAsNull`]).

use std::fmt;
use std::io::Read;

use bytes::{Buf, Bytes};
use reqwest::Response;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use tokio::sync::mpsc;

use super::bodies::AggregateResult;
use super::nonfinite::NonFiniteAsNull;

/// Chunks in flight between the body and the parser: enough to keep both busy, few
/// enough (hyper's chunks are at most a few tens of KiB) to stay out of the memory.
const CHUNKS_IN_FLIGHT: usize = 16;
/// Results parsed ahead of the caller.
const RESULTS_IN_FLIGHT: usize = 64;

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

/// What a streamed answer said besides its results.
#[derive(Debug, Default)]
pub(crate) struct StreamEnd {
    /// How many bare `NaN`/`Infinity` tokens were read as `null`.
    pub replaced: usize,
    /// The `cursor` of a page of an asynchronous job's results: where the next page
    /// starts; `None` on the last page (and in a synchronous answer).
    pub cursor: Option<String>,
}

/// Reads an aggregates answer (or a page of a job's results) from `response`, handing
/// each result to `on_result` (which returns false to stop) as it is parsed; refuses the
/// body past `limit` bytes. `handed_on` is set once a result has been handed on.
pub(crate) async fn stream_results(
    mut response: Response,
    limit: usize,
    on_result: &mut dyn FnMut(AggregateResult) -> bool,
    handed_on: &mut bool,
) -> Result<StreamEnd, StreamError> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(StreamError::TooLarge);
    }
    let (chunks, received) = mpsc::channel::<Bytes>(CHUNKS_IN_FLIGHT);
    let (results, mut parsed) = mpsc::channel::<AggregateResult>(RESULTS_IN_FLIGHT);
    let parser = tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::with_capacity(
            64 * 1024,
            NonFiniteAsNull::new(ChunkReader {
                chunks: received,
                current: Bytes::new(),
            }),
        );
        let mut json = serde_json::Deserializer::from_reader(&mut reader);
        let outcome = ResponseSeed(&results)
            .deserialize(&mut json)
            .and_then(|cursor| json.end().map(|()| cursor));
        (outcome, reader.get_ref().replaced())
    });
    let feeder = tokio::spawn(async move {
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
    });
    let mut stopped = false;
    while let Some(result) = parsed.recv().await {
        *handed_on = true;
        if !on_result(result) {
            stopped = true;
            break;
        }
    }
    // Closing the channel stops the parser at its next result, and it the feeder.
    drop(parsed);
    let failure = feeder
        .await
        .map_err(|err| StreamError::Json(format!("the body reader stopped: {err}")))?;
    let (outcome, replaced) = parser
        .await
        .map_err(|err| StreamError::Json(format!("the parser stopped: {err}")))?;
    if stopped {
        return Err(StreamError::Stopped);
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    outcome
        .map(|cursor| StreamEnd { replaced, cursor })
        .map_err(|err| StreamError::Json(err.to_string()))
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

/// The answer object: its `results` sent on one by one, its `cursor` kept, anything
/// else skipped.
struct ResponseSeed<'a>(&'a mpsc::Sender<AggregateResult>);

impl<'de> DeserializeSeed<'de> for ResponseSeed<'_> {
    type Value = Option<String>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<String>, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResponseSeed<'_> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an aggregates response object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<String>, A::Error> {
        let mut cursor = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "results" => map.next_value_seed(ResultsSeed(self.0))?,
                "cursor" => cursor = map.next_value::<Option<String>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(cursor)
    }
}

/// The `results` array (or `null`), each result sent as soon as it is read.
struct ResultsSeed<'a>(&'a mpsc::Sender<AggregateResult>);

impl<'de> DeserializeSeed<'de> for ResultsSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of results")
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(result) = seq.next_element::<AggregateResult>()? {
            self.0
                .blocking_send(result)
                .map_err(|_| de::Error::custom("the reader of the results stopped"))?;
        }
        Ok(())
    }
}
