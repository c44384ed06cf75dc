//! Everything that talks to Genesys Cloud: regions, the OAuth token, the API budget,
//! retries, request and response bodies, the catalogue of names the API accepts, and the
//! names of the ids queries group by.
//!
//! Every API call goes through [`GenesysClient::send`], so there is exactly one place where
//! the budget is spent, tokens are attached and renewed, 429s pause everyone, transient
//! failures are retried with backoff, and each exchange is counted.

pub mod agents;
pub mod auth;
pub mod bodies;
pub mod budget;
pub mod catalog;
pub mod channel_budget;
pub mod clock;
pub mod details;
pub mod jobs;
pub mod names;
pub mod nonfinite;
pub mod notifications;
pub mod observations;
pub mod pages;
pub mod permissions;
pub mod region;
pub mod sources;
mod stream;
pub mod trunks;
pub mod user_states;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::{RequestBuilder, Response, StatusCode};
use tokio::time::Instant;

use agents::{AgentCountsQuery, AgentCountsResponse};
use auth::{AccessToken, Credentials, TokenProvider};
use bodies::{AggregateQuery, AggregateResponse, AggregateResult, ErrorBody, ListingPage};
use budget::ApiBudget;
use channel_budget::ChannelBudget;
use clock::ApiClock;
use observations::{ObservationQuery, ObservationResponse};
use region::Endpoints;
use sources::Source;
use stream::{IntoSink, StreamError, Streamed, SuccessBody, Whole};

pub use stream::ResultSink;

use crate::telemetry::Telemetry;

/// Path of the queue observations query.
pub const OBSERVATIONS_PATH: &str = "/api/v2/analytics/queues/observations/query";
/// Path of the agent state counts ("agents now").
pub const AGENT_COUNTS_PATH: &str = "/api/v2/analytics/agents/status/counts";
/// The page of a listing (queues, users, ...) the exporter asks for first. Genesys list
/// endpoints serve at most their own maximum (fewer items, said in the response's
/// `pageSize`) or answer 400; 500 is the largest list endpoints are known to take.
pub const LISTING_PAGE_SIZE: u32 = 500;
/// The page size the API documents as safe, used after a 400 to [`LISTING_PAGE_SIZE`].
pub const LISTING_PAGE_SIZE_SAFE: u32 = 100;

/// The longest `Retry-After` of a 429 that is waited out and the call retried, as the
/// official SDKs do (the Go SDK gives up at once on a longer one).
pub const LONGEST_RETRIED_RETRY_AFTER: Duration = Duration::from_secs(180);

/// How the client waits and retries. The defaults follow the official SDKs.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt, for 5xx, 429, timeouts and connection errors.
    pub max_retries: u32,
    /// Backoff before the first retry; doubled for each further one, with jitter.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// The longest `Retry-After` that is waited out and retried
    /// ([`LONGEST_RETRIED_RETRY_AFTER`]; tests lower it). A longer one is honoured, not
    /// probed: every call is held for the whole wait and the call that got it fails at
    /// once ([`ApiError::RateLimitedFor`]), since a retry would most likely be refused
    /// again while every other query waited behind it.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
            max_retry_after: LONGEST_RETRIED_RETRY_AFTER,
        }
    }
}

/// Everything needed to build a client.
#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub endpoints: Endpoints,
    pub credentials: Credentials,
    pub requests_per_minute: NonZeroU32,
    /// Limit on establishing a connection (TCP and TLS); a host that never answers
    /// fails fast and the call is retried.
    pub connect_timeout: Duration,
    /// Limit on one whole request, from sending to the last byte of the response.
    pub request_timeout: Duration,
    /// Responses larger than this are refused while they stream in.
    pub max_response_bytes: usize,
    pub retry: RetryPolicy,
    /// Notification channels the client may hold ([`channel_budget`]); Genesys allows
    /// 20, fewer leaves room for another program with the same OAuth client.
    pub channel_limit: usize,
}

impl ClientSettings {
    /// Settings with the defaults for everything but where to go and who to be.
    pub fn new(
        endpoints: Endpoints,
        credentials: Credentials,
        requests_per_minute: NonZeroU32,
    ) -> Self {
        ClientSettings {
            endpoints,
            credentials,
            requests_per_minute,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            max_response_bytes: 512 * 1024 * 1024,
            retry: RetryPolicy::default(),
            channel_limit: channel_budget::MAX_CHANNELS,
        }
    }
}

/// Why an API call failed, in words an operator can act on. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("credentials: {message}")]
    Credentials { message: String },
    #[error("{endpoint}: no response: {message}")]
    Transport {
        endpoint: &'static str,
        message: String,
    },
    #[error("{endpoint}: HTTP {status} from Genesys: {message}")]
    Server {
        endpoint: &'static str,
        status: u16,
        message: String,
    },
    #[error("{endpoint}: still rate limited (HTTP 429) after {attempts} attempts")]
    RateLimited {
        endpoint: &'static str,
        attempts: u32,
    },
    #[error(
        "{endpoint}: rate limited (HTTP 429) with Retry-After {} s, longer than the {} s \
         worth retrying; every API call is held until {}",
        wait.as_secs(),
        retried_up_to.as_secs(),
        until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )]
    RateLimitedFor {
        endpoint: &'static str,
        /// The whole `Retry-After`.
        wait: Duration,
        /// The longest wait that would have been retried.
        retried_up_to: Duration,
        /// When calls are let through again.
        until: chrono::DateTime<chrono::Utc>,
    },
    #[error("{endpoint}: HTTP {status} from Genesys ({code}): {message}")]
    Rejected {
        endpoint: &'static str,
        status: u16,
        code: String,
        message: String,
    },
    #[error("{endpoint}: {message}")]
    BadResponse {
        endpoint: &'static str,
        message: String,
    },
    #[error("{endpoint}: response larger than the {limit} byte limit; refused")]
    TooLarge {
        endpoint: &'static str,
        limit: usize,
    },
}

impl ApiError {
    /// True when asking again soon cannot help: the query or the credentials are wrong
    /// (400, 401 after a fresh token, 403, 404), as opposed to a server or network fault.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            ApiError::Credentials { .. } | ApiError::Rejected { .. }
        )
    }
}

/// A successful response and how long the call waited for the budget on its way.
#[derive(Debug)]
pub struct Delivered<T> {
    pub value: T,
    pub budget_wait: Duration,
}

/// The Genesys Cloud API client: one per process, shared by every query.
#[derive(Debug)]
pub struct GenesysClient {
    http: reqwest::Client,
    endpoints: Endpoints,
    tokens: TokenProvider,
    budget: ApiBudget,
    clock: ApiClock,
    telemetry: Arc<Telemetry>,
    retry: RetryPolicy,
    max_response_bytes: usize,
    channels: ChannelBudget,
}

impl GenesysClient {
    pub fn new(
        settings: ClientSettings,
        telemetry: Arc<Telemetry>,
    ) -> Result<GenesysClient, ApiError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!(
                "genesys-cloud-exporter/",
                env!("CARGO_PKG_VERSION")
            ))
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .build()
            .map_err(|err| ApiError::Transport {
                endpoint: "client",
                message: format!("cannot build the HTTP client: {err}"),
            })?;
        let tokens = TokenProvider::new(
            http.clone(),
            settings.endpoints.token(),
            settings.credentials,
            Arc::clone(&telemetry),
        );
        let channels = ChannelBudget::new(settings.channel_limit, Arc::clone(&telemetry));
        Ok(GenesysClient {
            http,
            endpoints: settings.endpoints,
            tokens,
            budget: ApiBudget::new(settings.requests_per_minute),
            clock: ApiClock::default(),
            telemetry,
            retry: settings.retry,
            max_response_bytes: settings.max_response_bytes,
            channels,
        })
    }

    /// Runs one aggregates query of `source`.
    pub async fn query_aggregates(
        &self,
        source: &Source,
        query: &AggregateQuery<'_>,
    ) -> Result<Delivered<AggregateResponse>, ApiError> {
        let endpoint = source.endpoint;
        let delivered = self
            .post_json(endpoint, &source.aggregates_path(), &[], query, &mut Whole)
            .await?;
        let value = parse_aggregates(endpoint, &delivered.value)?;
        Ok(Delivered {
            value,
            budget_wait: delivered.budget_wait,
        })
    }

    /// Runs one aggregates query of `source`, handing each result (group) to
    /// `on_result` (false stops the answer) as it is parsed off the wire: no answer is
    /// held whole, so one request may span any interval at flat memory. Failures before
    /// the first result are retried as for any call; after it they are final (the
    /// results handed on cannot be taken back).
    pub async fn stream_aggregates(
        &self,
        source: &Source,
        query: &AggregateQuery<'_>,
        on_result: &mut dyn FnMut(AggregateResult) -> bool,
    ) -> Result<Delivered<()>, ApiError> {
        let endpoint = source.endpoint;
        let mut streamed = Streamed {
            on_result,
            handed_on: false,
        };
        let delivered = self
            .post_json(
                endpoint,
                &source.aggregates_path(),
                &[],
                query,
                &mut streamed,
            )
            .await?;
        warn_non_finite(delivered.value.replaced);
        Ok(Delivered {
            value: (),
            budget_wait: delivered.budget_wait,
        })
    }

    /// Runs one aggregates query of `source`, handing each result (group) to `sink` on
    /// the parser's blocking thread as it is parsed off the wire (the live poll maps it
    /// there), and hands the sink back. Failures are retried as for any call, also
    /// after results were handed on when the sink can forget them
    /// ([`ResultSink::forget_attempt`]).
    pub async fn stream_aggregates_into<S: ResultSink>(
        &self,
        source: &Source,
        query: &AggregateQuery<'_>,
        sink: S,
    ) -> Result<Delivered<S>, ApiError> {
        let endpoint = source.endpoint;
        let mut into = IntoSink {
            sink: Some(sink),
            handed_on: false,
        };
        let delivered = self
            .post_json(endpoint, &source.aggregates_path(), &[], query, &mut into)
            .await?;
        warn_non_finite(delivered.value.replaced);
        let sink = into.sink.ok_or_else(|| ApiError::BadResponse {
            endpoint,
            message: "the reader of the answer stopped".into(),
        })?;
        Ok(Delivered {
            value: sink,
            budget_wait: delivered.budget_wait,
        })
    }

    /// Runs one queue observations query.
    pub async fn query_observations(
        &self,
        query: &ObservationQuery<'_>,
    ) -> Result<Delivered<ObservationResponse>, ApiError> {
        let delivered = self
            .post_json("observations", OBSERVATIONS_PATH, &[], query, &mut Whole)
            .await?;
        Ok(Delivered {
            value: documented("observations", &delivered.value)?,
            budget_wait: delivered.budget_wait,
        })
    }

    /// Counts agents by `groupings` (the `groupBy` values, sent as a repeated query
    /// parameter, as the SDK sends a list).
    pub async fn query_agent_counts(
        &self,
        query: &AgentCountsQuery,
        groupings: &[String],
    ) -> Result<Delivered<AgentCountsResponse>, ApiError> {
        let parameters: Vec<(&str, &str)> =
            groupings.iter().map(|g| ("groupBy", g.as_str())).collect();
        let delivered = self
            .post_json("agents", AGENT_COUNTS_PATH, &parameters, query, &mut Whole)
            .await?;
        Ok(Delivered {
            value: documented("agents", &delivered.value)?,
            budget_wait: delivered.budget_wait,
        })
    }

    /// POSTs `body` as JSON to `path` with the query string `parameters` through
    /// [`GenesysClient::send`].
    async fn post_json<B: SuccessBody>(
        &self,
        endpoint: &'static str,
        path: &str,
        parameters: &[(&str, &str)],
        body: &impl serde::Serialize,
        reader: &mut B,
    ) -> Result<Delivered<B::Output>, ApiError> {
        let url = self.endpoints.api(path);
        let body = serde_json::to_vec(body).map_err(|err| ApiError::BadResponse {
            endpoint,
            message: format!("cannot encode the query: {err}"),
        })?;
        let body = Bytes::from(body);
        self.send(
            endpoint,
            |http| {
                http.post(url.clone())
                    .query(parameters)
                    .header("content-type", "application/json")
                    .body(body.clone())
            },
            reader,
        )
        .await
    }

    /// Genesys' time now, by the `Date` of its responses (see [`clock`]): what decides
    /// which intervals have completed.
    pub fn api_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The telemetry the client counts its requests in, for the parts of a subcommand
    /// (names, for one) that count theirs beside them.
    pub fn telemetry(&self) -> Arc<Telemetry> {
        Arc::clone(&self.telemetry)
    }

    /// The notification channels this client may hold, shared by every pushed set
    /// (Genesys counts them per OAuth client).
    pub fn channel_budget(&self) -> &ChannelBudget {
        &self.channels
    }

    /// One page of a listing (`GET path?pairs`), such as the queues or the users.
    /// `endpoint` names it in the telemetry and in errors.
    pub async fn listing_page(
        &self,
        endpoint: &'static str,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> Result<ListingPage, ApiError> {
        let mut url = self.endpoints.api(path);
        url.query_pairs_mut().extend_pairs(pairs);
        let delivered = self
            .send(endpoint, |http| http.get(url.clone()), &mut Whole)
            .await?;
        documented(endpoint, &delivered.value)
    }

    /// Sends one API request with the budget, token, retry and accounting rules.
    /// `build` makes the request afresh for every attempt.
    ///
    /// No request leaves while a 429 pause is in force, so none reaches Genesys inside a
    /// `Retry-After` that this process has been told of:
    ///
    /// - every 429 pauses every caller ([`ApiBudget::pause_for`]) the moment it is read,
    ///   whether this call then retries, gives up after its last attempt, or fails at
    ///   once for a wait too long to retry;
    /// - the order is budget cell, then token, then one more look at the pause right
    ///   before the request is handed to the HTTP client. The token can take a login
    ///   round trip (under a lock other callers queue on), and a 429 that arrives
    ///   meanwhile must stop this call too: if a pause began, the cell is given up and
    ///   the call queues for a new one after the pause, as [`ApiBudget::acquire`] does
    ///   for a pause that begins while it takes one. The token is fetched after the cell
    ///   and not before, because the cell may take a whole pause (minutes) to come, and
    ///   a token fetched first could be due for renewal by then.
    ///
    /// The login itself is not held by a pause: it goes to the login server, which the
    /// API's per-token rate limit (and so its 429s) does not cover, and no API request
    /// leaves with the new token before the pause has passed. A request already handed
    /// to the HTTP client (connecting, or on the wire) when a 429 arrives cannot be
    /// called back; it was on its way before anyone knew.
    async fn send<B: SuccessBody>(
        &self,
        endpoint: &'static str,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
        reader: &mut B,
    ) -> Result<Delivered<B::Output>, ApiError> {
        let mut budget_wait = Duration::ZERO;
        let mut retries = 0;
        let mut renewed_after_401 = false;
        loop {
            budget_wait += self.budget.acquire().await;
            let token = self.tokens.token().await?;
            if self.budget.is_paused() {
                // A 429 arrived while the token was obtained: wait it out with a new cell.
                continue;
            }
            let started = Instant::now();
            let outcome = self.exchange(&build, &token, reader).await;
            let seconds = started.elapsed().as_secs_f64();
            let (error, rate_limited) = match outcome {
                Ok((status, headers, answer)) => {
                    self.telemetry
                        .observe_api_request(endpoint, status.as_str(), seconds);
                    self.observe_rate_limit_headers(&headers);
                    let body = match answer {
                        Answer::Success(body) => {
                            return Ok(Delivered {
                                value: body,
                                budget_wait,
                            });
                        }
                        Answer::TooLarge => {
                            return Err(ApiError::TooLarge {
                                endpoint,
                                limit: self.max_response_bytes,
                            });
                        }
                        Answer::NotJson(message) => {
                            return Err(ApiError::BadResponse {
                                endpoint,
                                message: format!("response is not the documented JSON: {message}"),
                            });
                        }
                        Answer::Failure(body) => body,
                    };
                    match self.classify(endpoint, status, &headers, &body) {
                        Verdict::RenewToken if !renewed_after_401 => {
                            tracing::info!(
                                endpoint,
                                "the API rejected the access token; renewing it"
                            );
                            self.tokens.invalidate(&token).await;
                            renewed_after_401 = true;
                            continue;
                        }
                        Verdict::RenewToken => {
                            return Err(rejection(endpoint, status, &body));
                        }
                        Verdict::Fail(err) => return Err(err),
                        Verdict::RateLimited(wait) => {
                            // Every 429 holds back every caller, before anything else.
                            self.budget.pause_for(wait);
                            if wait > self.retry.max_retry_after {
                                return Err(self.held(endpoint, wait));
                            }
                            let error = ApiError::RateLimited {
                                endpoint,
                                attempts: retries + 1,
                            };
                            (error, Some(wait))
                        }
                        Verdict::Retry(error) => (error, None),
                    }
                }
                Err(err) => {
                    let code = if err.is_timeout() { "timeout" } else { "error" };
                    self.telemetry.observe_api_request(endpoint, code, seconds);
                    let error = ApiError::Transport {
                        endpoint,
                        message: describe_transport_error(&err),
                    };
                    (error, None)
                }
            };
            if retries >= self.retry.max_retries || !reader.retriable() {
                return Err(error);
            }
            let wait = rate_limited.unwrap_or_else(|| self.backoff(retries));
            retries += 1;
            tracing::warn!(endpoint, error = %error, retry = retries, wait_seconds = wait.as_secs_f64(), "API call failed; retrying");
            if rate_limited.is_none() {
                // A 429's wait is the pause, which the budget makes every caller keep.
                tokio::time::sleep(wait).await;
            }
        }
    }

    /// One HTTP exchange: the status, headers and the answer, its body read as `B` when
    /// the status is a success, whole otherwise (an error body is small).
    async fn exchange<B: SuccessBody>(
        &self,
        build: &impl Fn(&reqwest::Client) -> RequestBuilder,
        token: &AccessToken,
        reader: &mut B,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Answer<B::Output>), reqwest::Error> {
        let response = build(&self.http)
            .bearer_auth(token.value.expose())
            .send()
            .await?;
        let status = response.status();
        let headers = response.headers().clone();
        let date = headers
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok());
        if let Some(skew) = self.clock.observe(date, chrono::Utc::now()) {
            self.telemetry.observe_clock_skew(skew);
        }
        let answer = if status.is_success() {
            match reader.read(response, self.max_response_bytes).await {
                Ok(body) => Answer::Success(body),
                Err(StreamError::TooLarge) => Answer::TooLarge,
                Err(StreamError::Json(message)) => Answer::NotJson(message),
                Err(StreamError::Stopped) => {
                    Answer::NotJson("the reader of the answer stopped".into())
                }
                Err(StreamError::Transport(err)) => return Err(err),
            }
        } else {
            match read_limited(response, self.max_response_bytes).await? {
                Some(body) => Answer::Failure(body),
                None => Answer::TooLarge,
            }
        };
        Ok((status, headers, answer))
    }

    /// What to do with an error answer.
    fn classify(
        &self,
        endpoint: &'static str,
        status: StatusCode,
        headers: &reqwest::header::HeaderMap,
        body: &Bytes,
    ) -> Verdict {
        match status {
            StatusCode::UNAUTHORIZED => Verdict::RenewToken,
            StatusCode::TOO_MANY_REQUESTS => Verdict::RateLimited(self.retry_after(headers)),
            status if status.is_server_error() && status != StatusCode::NOT_IMPLEMENTED => {
                Verdict::Retry(ApiError::Server {
                    endpoint,
                    status: status.as_u16(),
                    message: error_message(body),
                })
            }
            status => {
                // The caller logs it, once or every time as suits the call.
                let error = rejection(endpoint, status, body);
                tracing::debug!(endpoint, error = %error, "the API refused the request; not retrying");
                Verdict::Fail(error)
            }
        }
    }

    /// The error of a 429 whose wait is too long to retry (every call is already held
    /// for all of it), said once in the log.
    fn held(&self, endpoint: &'static str, wait: Duration) -> ApiError {
        let until = chrono::Utc::now()
            + chrono::TimeDelta::from_std(wait).unwrap_or(chrono::TimeDelta::MAX / 2);
        let error = ApiError::RateLimitedFor {
            endpoint,
            wait,
            retried_up_to: self.retry.max_retry_after,
            until,
        };
        tracing::warn!(
            endpoint,
            wait_seconds = wait.as_secs_f64(),
            until = %until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "Genesys asked for a wait longer than is worth retrying; holding every API call for all of it and failing this poll"
        );
        error
    }

    /// How long a 429 asks us to wait: `Retry-After`, else `inin-ratelimit-reset`, else
    /// the first backoff step.
    fn retry_after(&self, headers: &reqwest::header::HeaderMap) -> Duration {
        let seconds = ["retry-after", "inin-ratelimit-reset"]
            .iter()
            .find_map(|name| {
                headers
                    .get(*name)?
                    .to_str()
                    .ok()?
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
            });
        // A year is past any real wait, and keeps the arithmetic of deadlines in range.
        const LONGEST: f64 = 365.0 * 86_400.0;
        seconds.map_or(self.retry.initial_backoff, |s| {
            Duration::from_secs_f64(s.min(LONGEST))
        })
    }

    /// Exponential backoff with jitter: a random wait in [d/2, d], d doubling per retry.
    fn backoff(&self, retries_so_far: u32) -> Duration {
        let ceiling = self
            .retry
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retries_so_far))
            .min(self.retry.max_backoff);
        ceiling.mul_f64(rand::random_range(0.5..=1.0))
    }

    fn observe_rate_limit_headers(&self, headers: &reqwest::header::HeaderMap) {
        let number = |name: &str| -> Option<f64> {
            headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok()
        };
        if let (Some(allowed), Some(count)) = (
            number("inin-ratelimit-allowed"),
            number("inin-ratelimit-count"),
        ) {
            self.telemetry.observe_rate_limit(allowed, count);
        }
    }
}

/// What came back from one exchange.
enum Answer<B> {
    /// A success, its body read.
    Success(B),
    /// An error status and its body.
    Failure(Bytes),
    /// A body over the size limit, refused while it streamed in.
    TooLarge,
    /// A success whose body is not the JSON expected.
    NotJson(String),
}

/// Says in the log that an aggregates answer held `replaced` bare `NaN`/`Infinity`
/// numbers, read as missing.
fn warn_non_finite(replaced: usize) {
    if replaced > 0 {
        tracing::warn!(
            replaced,
            "the aggregates response holds bare NaN/Infinity numbers; reading them as missing"
        );
    }
}

/// What to do with an error answer.
enum Verdict {
    RenewToken,
    /// A fault worth another attempt after a backoff.
    Retry(ApiError),
    Fail(ApiError),
    /// A 429 and how long it asks every caller to wait.
    RateLimited(Duration),
}

/// Parses an aggregates answer; a body that only fails for bare `NaN`/`Infinity`
/// numbers is read with them as `null` (skipped and counted by the mapping).
fn parse_aggregates(endpoint: &'static str, body: &[u8]) -> Result<AggregateResponse, ApiError> {
    let err = match serde_json::from_slice(body) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    if let Some((fixed, replaced)) = nonfinite::replace_non_finite(body)
        && let Ok(value) = serde_json::from_slice(&fixed)
    {
        warn_non_finite(replaced);
        return Ok(value);
    }
    Err(ApiError::BadResponse {
        endpoint,
        message: format!("response is not the documented JSON: {err}"),
    })
}

/// A body read whole as the documented JSON of `T`, or the error naming `endpoint`.
pub(crate) fn documented<T: serde::de::DeserializeOwned>(
    endpoint: &'static str,
    body: &[u8],
) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|err| ApiError::BadResponse {
        endpoint,
        message: format!("response is not the documented JSON: {err}"),
    })
}

/// A 4xx the API means: the request is wrong or not allowed.
fn rejection(endpoint: &'static str, status: StatusCode, body: &[u8]) -> ApiError {
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    ApiError::Rejected {
        endpoint,
        status: status.as_u16(),
        code: parsed.code.unwrap_or_else(|| "no code".to_string()),
        message: parsed.message.unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        }),
    }
}

/// The `message` of a Genesys error body, or a short note when there is none.
fn error_message(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .and_then(|e| e.message)
        .unwrap_or_else(|| format!("no Genesys error body ({} bytes)", body.len()))
}

/// Reads a response body chunk by chunk and gives up once it passes `limit` bytes
/// (`None`), so a huge body is never held whole.
///
/// Chunks are kept as they arrive and joined once at the end: no buffer doubling (and
/// copying) on the way, and a body refused at the limit never needed one large
/// allocation, which glibc would otherwise take as a reason to keep later large buffers
/// in its heap for the rest of the process's life.
pub(crate) async fn read_limited(
    mut response: Response,
    limit: usize,
) -> Result<Option<Bytes>, reqwest::Error> {
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Ok(None);
    }
    let mut chunks = Vec::new();
    let mut total = 0usize;
    while let Some(chunk) = response.chunk().await? {
        total = total.saturating_add(chunk.len());
        if total > limit {
            return Ok(None);
        }
        chunks.push(chunk);
    }
    if chunks.len() == 1
        && let Some(only) = chunks.pop()
    {
        return Ok(Some(only));
    }
    let mut body = BytesMut::with_capacity(total);
    for chunk in &chunks {
        body.extend_from_slice(chunk);
    }
    Ok(Some(body.freeze()))
}

/// A transport error in one line, with its causes (reqwest's Display stops at the top).
pub(crate) fn describe_transport_error(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_string()
    } else if err.is_connect() {
        "cannot connect".to_string()
    } else {
        err.to_string()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
