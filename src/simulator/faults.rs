//! Injected faults: the ways a real API fails, on demand, so tests can watch a client
//! survive them.
//!
//! A [`FaultRule`] says *what* goes wrong ([`FaultKind`]), *where* (a path prefix) and
//! *when* ([`Trigger`]: the next few requests, a share of requests drawn from the
//! simulator's seeded RNG, or a time window). Rules are checked in the order they were
//! added; the first one that fires shapes the answer. Clock skew is a separate,
//! always-on setting: it moves the simulator's clock (its `Date` header and what "now"
//! means for the traffic) against the host's.
//!
//! Huge bodies are generated lazily while they are sent, so the simulator can serve
//! hundreds of megabytes without holding them.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Frame, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Value, json};

use super::auth::lock;
use super::respond::{self, Body};

/// What goes wrong.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// An HTTP error with a Genesys error body (a 429 in the exact Genesys shape). The
    /// answer carries `Retry-After: n` when `retry_after` is set and no `inin-ratelimit-*`
    /// headers, so a 429 without `Retry-After` gives the client no hint at all.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// The real answer, sent only after this delay (a slow API, past a client timeout).
    Delay(Duration),
    /// The status, headers and first half of the real answer, then the connection is cut.
    ResetMidBody,
    /// A complete HTTP answer (200, matching `Content-Length`) holding the first half of
    /// the real JSON.
    TruncatedJson,
    /// A 200 whose body is not JSON at all.
    MalformedJson,
    /// A 200 with valid JSON of the wrong shape (a list where an object belongs).
    WrongShape,
    /// The real aggregates answer with the oddities the API is allowed, or known, to
    /// produce; see [`odd_values`] for exactly which.
    OddValues,
    /// A 200 with a JSON body of about `bytes` bytes and no `Content-Length`, generated
    /// while it is sent.
    HugeBody { bytes: u64 },
    /// Another fault's answer, sent only after `delay`: a slow 429, say, that reaches
    /// the client while it is busy with something else (a token renewal).
    Late {
        delay: Duration,
        answer: Box<FaultKind>,
    },
}

/// When a rule fires.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    /// The next `n` matching requests.
    Count(u32),
    /// Each matching request with this probability, drawn from the simulator's RNG
    /// (seeded from [`super::SimulatorConfig::seed`]): the same requests in the same
    /// order meet the same faults.
    Rate(f64),
    /// Every matching request from `start` until `start + length`.
    Window { start: Instant, length: Duration },
}

impl Trigger {
    /// Every matching request for `length` from now.
    pub fn for_next(length: Duration) -> Trigger {
        Trigger::Window {
            start: Instant::now(),
            length,
        }
    }
}

/// One fault: what, on which paths, when.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRule {
    /// Path prefix the rule applies to, e.g. `/api/v2/analytics` or `/oauth/token`.
    pub path_prefix: String,
    pub kind: FaultKind,
    pub trigger: Trigger,
}

/// The original, simplest fault: the next `count` requests whose path starts with
/// `path_prefix` are answered with `status` (and `Retry-After` when set). Kept as a
/// shorthand for a [`FaultRule`] with [`FaultKind::Status`] and [`Trigger::Count`].
#[derive(Clone, Debug)]
pub struct Fault {
    pub path_prefix: String,
    pub status: u16,
    pub retry_after: Option<u64>,
    pub count: u32,
}

impl From<Fault> for FaultRule {
    fn from(fault: Fault) -> FaultRule {
        FaultRule {
            path_prefix: fault.path_prefix,
            kind: FaultKind::Status {
                status: fault.status,
                retry_after: fault.retry_after,
            },
            trigger: Trigger::Count(fault.count),
        }
    }
}

/// A rule from text, for `simulate --fault`: `ENDPOINT:KIND[:WHEN]`.
///
/// - ENDPOINT: `aggregates`, `queues`, `token`, `api` (every API path) or a path
///   prefix starting with `/`.
/// - KIND: an HTTP status (`503`), `429/SECONDS` for a 429 with `Retry-After`,
///   `delay=DURATION`, `reset`, `truncated`, `malformed`, `wrong-shape`, `odd-values`,
///   `huge=BYTES` (suffixes KiB, MiB, GiB).
/// - WHEN: `count=N`, `rate=P` (0 to 1) or `for=DURATION` from start-up; every request
///   when left out.
///
/// For example `aggregates:503:rate=0.2`, `api:429/3600:count=3`, `token:503:for=2m`.
impl std::str::FromStr for FaultRule {
    type Err = String;

    fn from_str(text: &str) -> Result<FaultRule, String> {
        let mut parts = text.splitn(3, ':');
        let endpoint = parts.next().unwrap_or_default();
        let kind = parts.next().ok_or("expected ENDPOINT:KIND[:WHEN]")?;
        let path_prefix = match endpoint {
            "aggregates" => "/api/v2/analytics/conversations/aggregates/query",
            "queues" => "/api/v2/routing/queues",
            "token" => "/oauth/token",
            "api" => "/api/",
            path if path.starts_with('/') => path,
            other => return Err(format!("unknown endpoint {other:?}")),
        };
        let trigger = match parts.next() {
            None => Trigger::Rate(1.0),
            Some(when) => parse_trigger(when)?,
        };
        Ok(FaultRule {
            path_prefix: path_prefix.to_string(),
            kind: parse_kind(kind)?,
            trigger,
        })
    }
}

fn parse_kind(text: &str) -> Result<FaultKind, String> {
    let duration =
        |value: &str| humantime::parse_duration(value).map_err(|err| format!("{value:?}: {err}"));
    let (name, value) = text.split_once('=').unwrap_or((text, ""));
    Ok(match name {
        "delay" => FaultKind::Delay(duration(value)?),
        "reset" => FaultKind::ResetMidBody,
        "truncated" => FaultKind::TruncatedJson,
        "malformed" => FaultKind::MalformedJson,
        "wrong-shape" => FaultKind::WrongShape,
        "odd-values" => FaultKind::OddValues,
        "huge" => FaultKind::HugeBody {
            bytes: crate::conventions::parse_size(value)? as u64,
        },
        status => {
            let (status, retry_after) = match status.split_once('/') {
                Some((status, seconds)) => (status, Some(seconds)),
                None => (status, None),
            };
            let number = |s: &str| {
                s.parse::<u64>()
                    .map_err(|_| format!("unknown fault {text:?}"))
            };
            FaultKind::Status {
                status: u16::try_from(number(status)?)
                    .map_err(|_| format!("bad status {status}"))?,
                retry_after: retry_after.map(number).transpose()?,
            }
        }
    })
}

fn parse_trigger(text: &str) -> Result<Trigger, String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected count=N, rate=P or for=DURATION, not {text:?}"))?;
    match name {
        "count" => value
            .parse()
            .map(Trigger::Count)
            .map_err(|_| format!("bad count {value:?}")),
        "rate" => match value.parse::<f64>() {
            Ok(p) if (0.0..=1.0).contains(&p) => Ok(Trigger::Rate(p)),
            _ => Err(format!("rate {value:?} is not between 0 and 1")),
        },
        "for" => humantime::parse_duration(value)
            .map(Trigger::for_next)
            .map_err(|err| format!("{value:?}: {err}")),
        other => Err(format!("unknown trigger {other:?}")),
    }
}

/// The simulator's fault rules, its RNG and its clock skew.
pub(crate) struct Faults {
    rules: Mutex<VecDeque<FaultRule>>,
    rng: Mutex<StdRng>,
    skew_ms: AtomicI64,
    /// A stopped clock (ms since the epoch), or `i64::MIN` for a running one.
    frozen_ms: AtomicI64,
}

impl Faults {
    pub(crate) fn new(seed: u64) -> Faults {
        Faults {
            rules: Mutex::new(VecDeque::new()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            skew_ms: AtomicI64::new(0),
            frozen_ms: AtomicI64::new(i64::MIN),
        }
    }

    pub(crate) fn add(&self, rule: FaultRule) {
        lock(&self.rules).push_back(rule);
    }

    pub(crate) fn clear(&self) {
        lock(&self.rules).clear();
    }

    /// The fault for a request to `path` arriving at `now`, if any rule fires; uses up
    /// one of a counted rule and drops rules that can no longer fire.
    pub(crate) fn pick(&self, path: &str, now: Instant) -> Option<FaultKind> {
        let mut rules = lock(&self.rules);
        rules.retain(|rule| match rule.trigger {
            Trigger::Count(left) => left > 0,
            Trigger::Window { start, length } => now < start + length,
            Trigger::Rate(_) => true,
        });
        for rule in rules.iter_mut() {
            if !path.starts_with(&rule.path_prefix) {
                continue;
            }
            let fires = match &mut rule.trigger {
                Trigger::Count(left) => {
                    *left -= 1;
                    true
                }
                Trigger::Window { start, .. } => now >= *start,
                Trigger::Rate(p) => lock(&self.rng).random_bool(p.clamp(0.0, 1.0)),
            };
            if fires {
                return Some(rule.kind.clone());
            }
        }
        None
    }

    pub(crate) fn set_skew(&self, skew: chrono::TimeDelta) {
        self.skew_ms
            .store(skew.num_milliseconds(), Ordering::Relaxed);
    }

    /// Stops the simulator's clock at `at`: every answer is then the same, so a test
    /// can ask the same question as a client and compare the answers exactly.
    pub(crate) fn freeze_at(&self, at: chrono::DateTime<chrono::Utc>) {
        self.frozen_ms
            .store(at.timestamp_millis(), Ordering::Relaxed);
    }

    /// The simulator's idea of now: the host's clock plus the skew, or the frozen time.
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let frozen = self.frozen_ms.load(Ordering::Relaxed);
        if frozen != i64::MIN
            && let Some(at) = chrono::DateTime::from_timestamp_millis(frozen)
        {
            return at;
        }
        chrono::Utc::now() + chrono::TimeDelta::milliseconds(self.skew_ms.load(Ordering::Relaxed))
    }

    /// The `Date` header for the simulator's clock (RFC 9110 IMF-fixdate).
    pub(crate) fn date_header(&self) -> Option<HeaderValue> {
        let text = self.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        HeaderValue::from_str(&text).ok()
    }
}

impl FaultKind {
    /// Whether the fault answers instead of the simulator (else it distorts the real
    /// answer, see [`distort`]).
    pub(crate) fn replaces_answer(&self) -> bool {
        match self {
            FaultKind::Late { answer, .. } => answer.replaces_answer(),
            other => matches!(
                other,
                FaultKind::Status { .. }
                    | FaultKind::MalformedJson
                    | FaultKind::WrongShape
                    | FaultKind::HugeBody { .. }
            ),
        }
    }
}

/// Sleeps for the delays of [`FaultKind::Late`] (nested ones too) and gives the fault
/// that then shapes the answer.
async fn waited_out(mut kind: &FaultKind) -> &FaultKind {
    while let FaultKind::Late { delay, answer } = kind {
        tokio::time::sleep(*delay).await;
        kind = answer;
    }
    kind
}

/// The answer of a fault that replaces the simulator's.
pub(crate) async fn replacement(kind: &FaultKind, context_id: &str) -> Response<Body> {
    match waited_out(kind).await {
        FaultKind::Status {
            status,
            retry_after,
        } => status_response(*status, *retry_after, context_id),
        FaultKind::MalformedJson => raw_json(
            StatusCode::OK,
            Bytes::from_static(b"{\"results\": [{\"group\": {queueId: 'x'}, \"data\": [}]"),
        ),
        FaultKind::WrongShape => raw_json(
            StatusCode::OK,
            Bytes::from_static(b"[{\"unexpected\": \"a list where an object belongs\"}]"),
        ),
        FaultKind::HugeBody { bytes } => huge_body(*bytes),
        other => {
            tracing::warn!(fault = ?other, "not a replacing fault; answering 500");
            status_response(500, None, context_id)
        }
    }
}

/// The real answer, distorted by `kind`.
pub(crate) async fn distort(kind: &FaultKind, response: Response<Body>) -> Response<Body> {
    let kind = waited_out(kind).await;
    if let FaultKind::Delay(delay) = kind {
        tokio::time::sleep(*delay).await;
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            tracing::warn!(%error, "simulator could not read its own answer");
            Bytes::new()
        }
    };
    let half = bytes.slice(..bytes.len() / 2);
    let mut response = match kind {
        FaultKind::ResetMidBody => {
            let declared = bytes.len();
            let mut response = Response::new(
                Generated {
                    head: Some(half),
                    filler: Bytes::new(),
                    remaining: 0,
                    tail: None,
                    then_reset: true,
                }
                .boxed(),
            );
            // Promise the whole body so the client can tell it was cut short.
            response
                .headers_mut()
                .insert(CONTENT_LENGTH, HeaderValue::from(declared));
            response
        }
        FaultKind::TruncatedJson => Response::new(full(half)),
        FaultKind::OddValues => match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut value) => Response::new(full(odd_values(&mut value))),
            Err(_) => Response::new(full(bytes)),
        },
        _ => Response::new(full(bytes)),
    };
    *response.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if name != CONTENT_LENGTH {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

fn status_response(status: u16, retry_after: Option<u64>, context_id: &str) -> Response<Body> {
    let status = StatusCode::from_u16(status).unwrap_or_else(|_| {
        tracing::warn!(status, "invalid injected fault status; using 500");
        StatusCode::INTERNAL_SERVER_ERROR
    });
    let mut response = match (status, retry_after) {
        (StatusCode::TOO_MANY_REQUESTS, Some(secs)) => respond::too_many_requests(secs, context_id),
        _ => {
            let message = format!(
                "Simulated fault: {}",
                status.canonical_reason().unwrap_or("error")
            );
            respond::genesys_error(
                status,
                respond::code_for_status(status),
                &message,
                context_id,
            )
        }
    };
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert("retry-after", HeaderValue::from(secs));
    }
    response
}

/// Rewrites a real aggregates answer with the oddities a client must take in its
/// stride, each in its own result (when there are that many), and returns its text:
///
/// - everywhere: an unknown field (`futureField`) at every level;
/// - result 0: its group lacks its last key (as an abandon lacks `userId`);
/// - result 1: its first metric entry has no `stats`;
/// - result 2: its first metric entry's first stat is `null`;
/// - result 3: its first metric entry's first stat is negative;
/// - result 4: its first metric entry's first stat is a bare `NaN` (not valid JSON,
///   but what some JSON writers emit for a 0/0).
///
/// A client that takes them in stride skips the unusable stats and keeps everything
/// else.
pub(crate) fn odd_values(value: &mut Value) -> Bytes {
    const NAN_MARK: &str = "__simulated_bare_nan__";
    if let Some(object) = value.as_object_mut() {
        object.insert("futureField".into(), json!({"added": "later"}));
    }
    let results = value
        .get_mut("results")
        .and_then(Value::as_array_mut)
        .map(Vec::as_mut_slice)
        .unwrap_or_default();
    for (index, result) in results.iter_mut().enumerate() {
        if let Some(object) = result.as_object_mut() {
            object.insert("futureField".into(), json!(1));
        }
        if index == 0
            && let Some(group) = result.get_mut("group").and_then(Value::as_object_mut)
            && let Some(last) = group.keys().next_back().cloned()
        {
            group.remove(&last);
        }
        let Some(entry) = result
            .pointer_mut("/data/0/metrics/0")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        entry.insert("futureField".into(), json!([1, 2]));
        if index == 1 {
            entry.remove("stats");
            continue;
        }
        let Some(first) = entry
            .get_mut("stats")
            .and_then(Value::as_object_mut)
            .and_then(|stats| stats.values_mut().next())
        else {
            continue;
        };
        match index {
            2 => *first = Value::Null,
            3 => *first = json!(-first.as_f64().unwrap_or(1.0).abs().max(1.0)),
            4 => *first = Value::String(NAN_MARK.into()),
            _ => {}
        }
    }
    let text = value.to_string();
    Bytes::from(text.replace(&format!("\"{NAN_MARK}\""), "NaN"))
}

fn full(bytes: Bytes) -> Body {
    http_body_util::Full::new(bytes)
        .map_err(|never| match never {})
        .boxed()
}

fn raw_json(status: StatusCode, bytes: Bytes) -> Response<Body> {
    let mut response = Response::new(full(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A valid aggregates JSON document of about `bytes` bytes, made of empty results.
fn huge_body(bytes: u64) -> Response<Body> {
    const ITEM: &[u8] = b"{\"group\":{\"queueId\":\"huge\"},\"data\":[]},";
    let filler: Vec<u8> = ITEM
        .iter()
        .copied()
        .cycle()
        .take(ITEM.len() * 1024)
        .collect();
    let body = Generated {
        head: Some(Bytes::from_static(b"{\"results\":[")),
        filler: Bytes::from(filler),
        remaining: bytes,
        tail: Some(Bytes::from_static(b"{}]}")),
        then_reset: false,
    };
    let mut response = Response::new(body.boxed());
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A body produced while it is sent: a head, `remaining` bytes of whole filler chunks
/// (the same shared buffer each time, so nothing grows), a tail, and optionally a
/// connection reset instead of a proper end.
struct Generated {
    head: Option<Bytes>,
    filler: Bytes,
    remaining: u64,
    tail: Option<Bytes>,
    then_reset: bool,
}

impl hyper::body::Body for Generated {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if let Some(head) = this.head.take() {
            return Poll::Ready(Some(Ok(Frame::data(head))));
        }
        if this.remaining > 0 && !this.filler.is_empty() {
            this.remaining = this.remaining.saturating_sub(this.filler.len() as u64);
            return Poll::Ready(Some(Ok(Frame::data(this.filler.clone()))));
        }
        if let Some(tail) = this.tail.take() {
            return Poll::Ready(Some(Ok(Frame::data(tail))));
        }
        if std::mem::take(&mut this.then_reset) {
            return Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "simulated connection reset mid-body",
            ))));
        }
        Poll::Ready(None)
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_none()
            && (self.remaining == 0 || self.filler.is_empty())
            && self.tail.is_none()
            && !self.then_reset
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown: a huge body is sent chunked, without a Content-Length to refuse early.
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16, count: u32) -> FaultRule {
        Fault {
            path_prefix: "/api".into(),
            status,
            retry_after: None,
            count,
        }
        .into()
    }

    fn status_of(kind: Option<FaultKind>) -> Option<u16> {
        match kind? {
            FaultKind::Status { status, .. } => Some(status),
            _ => None,
        }
    }

    #[test]
    fn rules_parse_from_text() {
        let rule: FaultRule = "aggregates:503:rate=0.2".parse().unwrap();
        assert_eq!(
            rule.path_prefix,
            "/api/v2/analytics/conversations/aggregates/query"
        );
        assert_eq!(
            rule.kind,
            FaultKind::Status {
                status: 503,
                retry_after: None
            }
        );
        assert_eq!(rule.trigger, Trigger::Rate(0.2));
        let rule: FaultRule = "api:429/3600:count=3".parse().unwrap();
        assert_eq!(
            (rule.path_prefix.as_str(), rule.kind, rule.trigger),
            (
                "/api/",
                FaultKind::Status {
                    status: 429,
                    retry_after: Some(3600)
                },
                Trigger::Count(3)
            )
        );
        let rule: FaultRule = "token:huge=2MiB".parse().unwrap();
        assert_eq!(rule.kind, FaultKind::HugeBody { bytes: 2 << 20 });
        assert_eq!(rule.trigger, Trigger::Rate(1.0));
        let rule: FaultRule = "queues:delay=90s:for=2m".parse().unwrap();
        assert_eq!(rule.kind, FaultKind::Delay(Duration::from_secs(90)));
        assert!(
            matches!(rule.trigger, Trigger::Window { length, .. } if length == Duration::from_secs(120))
        );
        for bad in [
            "nowhere:503",
            "api",
            "api:teapot",
            "api:503:rate=2",
            "api:503:soon=1",
            "api:huge=3MB",
        ] {
            assert!(bad.parse::<FaultRule>().is_err(), "{bad}");
        }
    }

    #[test]
    fn counted_faults_are_used_up_in_order() {
        let faults = Faults::new(1);
        faults.add(status(503, 2));
        faults.add(status(500, 1));
        let now = Instant::now();
        assert!(faults.pick("/oauth/token", now).is_none());
        let statuses: Vec<u16> = (0..4)
            .filter_map(|_| status_of(faults.pick("/api/v2/routing/queues", now)))
            .collect();
        assert_eq!(statuses, [503, 503, 500]);
    }

    #[test]
    fn a_window_fires_only_inside_it() {
        let faults = Faults::new(1);
        let start = Instant::now() + Duration::from_secs(10);
        faults.add(FaultRule {
            path_prefix: "/api".into(),
            kind: FaultKind::WrongShape,
            trigger: Trigger::Window {
                start,
                length: Duration::from_secs(5),
            },
        });
        assert!(
            faults
                .pick("/api/x", start - Duration::from_secs(1))
                .is_none()
        );
        assert_eq!(faults.pick("/api/x", start), Some(FaultKind::WrongShape));
        assert!(
            faults
                .pick("/api/x", start + Duration::from_secs(5))
                .is_none()
        );
        assert!(
            lock(&faults.rules).is_empty(),
            "an expired window is dropped"
        );
    }

    #[test]
    fn a_rate_is_deterministic_for_a_seed_and_near_its_probability() {
        let draw = |seed| {
            let faults = Faults::new(seed);
            faults.add(FaultRule {
                path_prefix: "/api".into(),
                kind: FaultKind::MalformedJson,
                trigger: Trigger::Rate(0.3),
            });
            (0..1000)
                .map(|_| faults.pick("/api/x", Instant::now()).is_some())
                .collect::<Vec<bool>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let fired = draw(7).iter().filter(|f| **f).count();
        assert!((200..400).contains(&fired), "{fired} of 1000 at 30 %");
    }

    #[test]
    fn odd_values_keep_valid_parts_and_write_a_bare_nan() {
        let mut value = json!({"results": (0..6).map(|i| json!({
            "group": {"queueId": format!("q{i}"), "mediaType": "voice"},
            "data": [{"interval": "i", "metrics": [{"metric": "nOffered", "stats": {"count": 5}}]}]
        })).collect::<Vec<_>>()});
        let text = String::from_utf8(odd_values(&mut value).to_vec()).unwrap();
        assert!(text.contains(r#""count":NaN"#), "{text}");
        assert!(text.contains(r#""count":null"#), "{text}");
        assert!(text.contains(r#""count":-5"#), "{text}");
        // Results 0 and 5 keep their stats; result 1 lost them.
        assert_eq!(text.matches("\"count\":5").count(), 2, "{text}");
        assert_eq!(text.matches("futureField").count(), 1 + 6 + 6, "{text}");
        // Result 0 lost the key that sorts last.
        assert_eq!(text.matches("queueId").count(), 5, "{text}");
    }
}
