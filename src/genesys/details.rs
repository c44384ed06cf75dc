//! The conversation details query (`POST /api/v2/analytics/conversations/details/query`),
//! as voice quality reads it: voice conversations of one interval, page by page.
//!
//! The request is `ConversationQuery` (SDK 269) with the voice filter as a segment
//! filter (`mediaType` is a segment dimension; Genesys refuses it as a conversation
//! filter), ordered by `conversationStart` and paged by `paging {pageSize, pageNumber}`.
//! The answer is `AnalyticsConversationQueryResponse {conversations, totalHits}`; only
//! the fields voice quality aggregates are read (no participant names, addresses, ANI or
//! DNIS are even parsed), leniently: a value of the wrong type reads as absent.
//!
//! A page holds at most [`MAX_PAGE_SIZE`] conversations and a query reaches at most
//! [`MAX_RESULTS`] of them (its `totalHits` may be larger), so an interval whose
//! `totalHits` passes that is split in halves, each queried on its own, down to
//! [`SHORTEST_PIECE`]. A conversation active in both halves comes back in both and is
//! kept once (by its id, which is used for that only: never logged nor exported).
//!
//! Genesys returns only the conversations that started on a (UTC) day the interval
//! touches, so a call that started before midnight and ended in an interval of the early
//! hours would be missed. For an interval that starts less than [`CROSSING_MIDNIGHT`]
//! after midnight, one more piece is read: the last second before that midnight, which
//! brings the calls that were in progress at midnight.

use std::collections::HashSet;
use std::time::Duration;

use chrono::TimeDelta;
use serde::{Deserialize, Deserializer, Serialize};

use super::bodies::null_as_default;
use super::{ApiError, GenesysClient};
use crate::interval::Interval;

/// Path of the conversation details query.
pub const DETAILS_PATH: &str = "/api/v2/analytics/conversations/details/query";
/// The `endpoint` label of its requests.
pub const ENDPOINT: &str = "conversation_details";
/// The largest `paging.pageSize` the details query takes.
pub const MAX_PAGE_SIZE: u32 = 100;
/// The most results one details query reaches by paging (`pageSize * pageNumber`);
/// beyond it Genesys answers 400, whatever `totalHits` says.
pub const MAX_RESULTS: u64 = 10_000;
/// Pieces of an interval are not split below this: a minute with more than
/// [`MAX_RESULTS`] voice calls is read as far as paging reaches, with a warning.
pub const SHORTEST_PIECE: TimeDelta = TimeDelta::minutes(1);

/// How long after a UTC midnight an interval still asks for the calls in progress at
/// that midnight (one more piece: every call then in progress, a page per 100, read
/// again by each poll of that hour): calls longer than this that started the day
/// before are not counted.
pub const CROSSING_MIDNIGHT: TimeDelta = TimeDelta::hours(1);

/// Body of one page of the details query (`ConversationQuery`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailsQuery {
    /// ISO-8601 `start/end`.
    pub interval: String,
    pub order: &'static str,
    pub order_by: &'static str,
    pub paging: Paging,
    pub segment_filters: [SegmentFilter; 1],
}

/// `PagingSpec`: 1-based page number.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    pub page_size: u32,
    pub page_number: u32,
}

/// `SegmentDetailQueryFilter`: one `and` of predicates.
#[derive(Debug, Serialize)]
pub struct SegmentFilter {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub predicates: [Predicate; 1],
}

/// `SegmentDetailQueryPredicate` on a dimension.
#[derive(Debug, Serialize)]
pub struct Predicate {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub dimension: &'static str,
    pub operator: &'static str,
    pub value: &'static str,
}

impl DetailsQuery {
    /// Page `page_number` (from 1) of the voice conversations of `interval`.
    pub fn voice(interval: &Interval, page_size: u32, page_number: u32) -> DetailsQuery {
        DetailsQuery {
            interval: interval.to_iso8601(),
            order: "asc",
            order_by: "conversationStart",
            paging: Paging {
                page_size,
                page_number,
            },
            segment_filters: [SegmentFilter {
                kind: "and",
                predicates: [Predicate {
                    kind: "dimension",
                    dimension: "mediaType",
                    operator: "matches",
                    value: "voice",
                }],
            }],
        }
    }
}

/// One page of the answer (`AnalyticsConversationQueryResponse`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailsPage {
    /// Absent on an empty page.
    #[serde(default, deserialize_with = "null_as_default")]
    pub conversations: Vec<Conversation>,
    /// Conversations the query matches, over every page.
    #[serde(default, deserialize_with = "lenient")]
    pub total_hits: Option<u64>,
}

/// The fields of `AnalyticsConversationWithoutAttributes` voice quality reads.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Conversation {
    /// Only to keep a conversation once when two pieces of a split interval both
    /// return it; never logged nor exported.
    #[serde(default, deserialize_with = "lenient")]
    pub conversation_id: Option<String>,
    /// ISO-8601; absent while the conversation is in progress.
    #[serde(default, deserialize_with = "lenient")]
    pub conversation_end: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub media_stats_min_conversation_mos: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub originating_direction: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub participants: Vec<Participant>,
}

/// The fields of `AnalyticsParticipantWithoutAttributes` read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// `customer`, `external`, `acd`, `agent`, `ivr`, ...
    #[serde(default, deserialize_with = "lenient")]
    pub purpose: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub sessions: Vec<Session>,
}

/// The fields of `AnalyticsSession` read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    #[serde(default, deserialize_with = "lenient")]
    pub media_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub edge_id: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub segments: Vec<Segment>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub media_endpoint_stats: Vec<MediaEndpointStat>,
}

/// The fields of `AnalyticsConversationSegment` read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Segment {
    #[serde(default, deserialize_with = "lenient")]
    pub segment_type: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub queue_id: Option<String>,
}

/// `AnalyticsMediaEndpointStat`: one measurement of a session's media.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaEndpointStat {
    #[serde(default, deserialize_with = "lenient")]
    pub codecs: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient")]
    pub max_latency_ms: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub received_packets: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub discarded_packets: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub invalid_packets: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub overrun_packets: Option<f64>,
    #[serde(default, deserialize_with = "lenient")]
    pub underrun_packets: Option<f64>,
}

/// A value of the expected type, or absent: one odd field must not cost a page.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// Every voice conversation of an interval, however many pages and pieces it took.
#[derive(Debug, Default)]
pub struct DetailsAnswer {
    /// Each conversation once.
    pub conversations: Vec<Conversation>,
    /// Requests sent: the pages of every piece's `totalHits` (see [`pages_for`]), and
    /// the first page of each interval that was split. What the next poll of the same
    /// traffic will cost.
    pub requests: usize,
    /// Time spent waiting for the API budget.
    pub budget_wait: Duration,
    /// Conversations past [`MAX_RESULTS`] in a piece that could not be split further,
    /// which were not read.
    pub unreachable: u64,
}

/// Pages one query of `total_hits` conversations takes at `page_size` (at least one),
/// never a page that reaches past [`MAX_RESULTS`] (Genesys refuses it).
pub fn pages_for(total_hits: u64, page_size: u32) -> usize {
    let page_size = u64::from(page_size.max(1));
    total_hits
        .div_ceil(page_size)
        .clamp(1, reachable(page_size) / page_size) as usize
}

/// The most results paging reaches at `page_size`: whole pages within [`MAX_RESULTS`]
/// (9,990 at 30 a page), past which a piece is split.
fn reachable(page_size: u64) -> u64 {
    (MAX_RESULTS / page_size).max(1) * page_size
}

impl GenesysClient {
    /// One page of the details query, through [`GenesysClient::send`] (budget, token,
    /// retries, the response size limit), counted under `conversation_details`.
    pub async fn query_details(
        &self,
        query: &DetailsQuery,
    ) -> Result<super::Delivered<DetailsPage>, ApiError> {
        let delivered = self
            .post_json(ENDPOINT, DETAILS_PATH, &[], query, &mut super::Whole)
            .await?;
        Ok(super::Delivered {
            value: super::documented(ENDPOINT, &delivered.value)?,
            budget_wait: delivered.budget_wait,
        })
    }

    /// Every voice conversation with activity in `interval`, page after page (each a
    /// request through the budget), the interval split in halves while a piece's
    /// `totalHits` passes [`MAX_RESULTS`]. Any failed request fails the whole.
    pub async fn voice_conversations(
        &self,
        interval: &Interval,
        page_size: u32,
    ) -> Result<DetailsAnswer, ApiError> {
        let page_size = page_size.clamp(1, MAX_PAGE_SIZE);
        let mut answer = DetailsAnswer::default();
        let mut seen: HashSet<String> = HashSet::new();
        // Pieces still to read, the next one last: the interval, then the calls in
        // progress at midnight when it needs them.
        let mut pieces: Vec<Interval> = in_progress_at_midnight(interval).into_iter().collect();
        pieces.push(*interval);
        while let Some(piece) = pieces.pop() {
            let first = self.details_page(&piece, page_size, 1, &mut answer).await?;
            let total = first.total_hits.unwrap_or(first.conversations.len() as u64);
            let reachable = reachable(u64::from(page_size));
            if total > reachable {
                if let Some((early, late)) = halves(&piece) {
                    tracing::debug!(interval = %piece.to_iso8601(), total_hits = total, "over the details query's result cap; splitting the interval");
                    pieces.push(late);
                    pieces.push(early);
                    continue;
                }
                tracing::warn!(interval = %piece.to_iso8601(), total_hits = total, reachable, "more voice conversations in one minute than a details query reaches; the rest are left out");
                answer.unreachable += total - reachable;
            }
            let pages = pages_for(total, page_size);
            keep(&mut answer, &mut seen, first.conversations);
            for number in 2..=pages as u32 {
                let page = self
                    .details_page(&piece, page_size, number, &mut answer)
                    .await?;
                if page.conversations.is_empty() {
                    break;
                }
                keep(&mut answer, &mut seen, page.conversations);
            }
        }
        Ok(answer)
    }

    async fn details_page(
        &self,
        piece: &Interval,
        page_size: u32,
        number: u32,
        answer: &mut DetailsAnswer,
    ) -> Result<DetailsPage, ApiError> {
        let delivered = self
            .query_details(&DetailsQuery::voice(piece, page_size, number))
            .await?;
        answer.requests += 1;
        answer.budget_wait += delivered.budget_wait;
        Ok(delivered.value)
    }
}

/// The last second before the UTC midnight that `interval` starts on or after, when
/// that is less than [`CROSSING_MIDNIGHT`] before it: the piece whose conversations
/// are those in progress at midnight, which started the day before (see the module's
/// documentation).
fn in_progress_at_midnight(interval: &Interval) -> Option<Interval> {
    let midnight = interval
        .start
        .date_naive()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    (interval.start - midnight < CROSSING_MIDNIGHT).then(|| Interval {
        start: midnight - TimeDelta::seconds(1),
        end: midnight,
    })
}

/// Adds the conversations not seen yet (by id; one without an id is always added).
fn keep(answer: &mut DetailsAnswer, seen: &mut HashSet<String>, conversations: Vec<Conversation>) {
    for conversation in conversations {
        let new = match &conversation.conversation_id {
            Some(id) => seen.insert(id.clone()),
            None => true,
        };
        if new {
            answer.conversations.push(conversation);
        }
    }
}

/// The two halves of `piece` (on whole seconds), unless it is already as short as
/// [`SHORTEST_PIECE`].
fn halves(piece: &Interval) -> Option<(Interval, Interval)> {
    let length = piece.end - piece.start;
    if length <= SHORTEST_PIECE {
        return None;
    }
    let middle = piece.start + TimeDelta::seconds(length.num_seconds() / 2);
    Some((
        Interval {
            start: piece.start,
            end: middle,
        },
        Interval {
            start: middle,
            end: piece.end,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_is_the_documented_conversation_query() {
        let interval =
            Interval::parse_iso8601("2026-12-06T10:00:00Z/2026-12-06T10:15:00Z").unwrap();
        let body = serde_json::to_value(DetailsQuery::voice(&interval, 100, 3)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "interval": "2026-12-06T10:00:00.000Z/2026-12-06T10:15:00.000Z",
                "order": "asc", "orderBy": "conversationStart",
                "paging": {"pageSize": 100, "pageNumber": 3},
                "segmentFilters": [{"type": "and", "predicates": [
                    {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}]}]
            })
        );
    }

    #[test]
    fn an_answer_is_read_leniently() {
        let page: DetailsPage = serde_json::from_value(serde_json::json!({
            "totalHits": 2,
            "conversations": [
                {"conversationId": "c1", "conversationEnd": "2026-12-06T10:05:00.000Z",
                 "mediaStatsMinConversationMos": "bad", "originatingDirection": "inbound",
                 "participants": [{"purpose": "customer", "participantName": "secret",
                   "sessions": [{"mediaType": "voice", "ani": "tel:+1555", "edgeId": "e1",
                     "mediaEndpointStats": [{"codecs": ["opus"], "receivedPackets": 10, "discardedPackets": null}],
                     "segments": null}]}]},
                {"conversationId": "c2"}
            ]
        }))
        .unwrap();
        assert_eq!(page.total_hits, Some(2));
        let first = &page.conversations[0];
        assert_eq!(first.media_stats_min_conversation_mos, None);
        let session = &first.participants[0].sessions[0];
        assert_eq!(session.edge_id.as_deref(), Some("e1"));
        assert_eq!(session.media_endpoint_stats[0].received_packets, Some(10.0));
        assert_eq!(session.media_endpoint_stats[0].discarded_packets, None);
        let empty: DetailsPage = serde_json::from_str(r#"{"totalHits": 0}"#).unwrap();
        assert!(empty.conversations.is_empty());
    }

    #[test]
    fn pages_reach_the_cap_at_most() {
        assert_eq!(pages_for(0, 100), 1);
        assert_eq!(pages_for(100, 100), 1);
        assert_eq!(pages_for(101, 100), 2);
        assert_eq!(pages_for(50_000, 100), 100);
        assert_eq!(pages_for(250, 25), 10);
        // 30 a page reaches 9,990 results: page 334 would ask for the 10,020th.
        assert_eq!(pages_for(9_995, 30), 333);
        assert_eq!(reachable(30), 9_990);
        assert_eq!(reachable(100), MAX_RESULTS);
    }

    #[test]
    fn the_early_hours_also_read_the_calls_in_progress_at_midnight() {
        let interval = |start: &str, end: &str| Interval {
            start: start.parse().unwrap(),
            end: end.parse().unwrap(),
        };
        let last_second = interval("2026-12-06T23:59:59Z", "2026-12-07T00:00:00Z");
        for early in [
            interval("2026-12-07T00:00:00Z", "2026-12-07T00:15:00Z"),
            interval("2026-12-07T00:45:00Z", "2026-12-07T01:00:00Z"),
        ] {
            assert_eq!(in_progress_at_midnight(&early), Some(last_second));
        }
        for later in [
            interval("2026-12-07T01:00:00Z", "2026-12-07T01:15:00Z"),
            interval("2026-12-06T23:45:00Z", "2026-12-07T00:00:00Z"),
        ] {
            assert_eq!(in_progress_at_midnight(&later), None, "{later:?}");
        }
    }

    #[test]
    fn a_piece_splits_in_halves_down_to_a_minute() {
        let piece = Interval::parse_iso8601("2026-12-06T10:00:00Z/2026-12-06T10:15:00Z").unwrap();
        let (early, late) = halves(&piece).unwrap();
        assert_eq!(early.end, late.start);
        assert_eq!(early.end - early.start, TimeDelta::seconds(450));
        let minute = Interval::parse_iso8601("2026-12-06T10:00:00Z/2026-12-06T10:01:00Z").unwrap();
        assert!(halves(&minute).is_none());
    }
}
