//! Request dispatch: faults, routing, authentication, rate limiting, the handlers,
//! and the headers and request log every response gets.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{ALLOW, AUTHORIZATION, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use super::auth::{self, TokenCheck, lock};
use super::ratelimit::RateStatus;
use super::respond::{self, Body};
use super::{
    RecordedRequest, SentQuery, Shared, agent_counts, aggregate, codec, details, faults, jobs,
    members, notifications, observations, queues, sources, trunks, users,
};
use crate::genesys::sources::{self as catalogue, Source};

const TOKEN_PATH: &str = "/oauth/token";
const QUEUES_PATH: &str = "/api/v2/routing/queues";
const OBSERVATIONS_PATH: &str = "/api/v2/analytics/queues/observations/query";
const AGENT_COUNTS_PATH: &str = "/api/v2/analytics/agents/status/counts";
const DETAILS_PATH: &str = "/api/v2/analytics/conversations/details/query";
/// Genesys limits request payloads to 512,000 bytes (limit key `request.bytes.max`).
pub(crate) const MAX_BODY_BYTES: usize = 512_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Token,
    /// `/api/v2/analytics/{source}/aggregates/query` of a source Genesys has.
    Aggregates(&'static Source),
    /// `/api/v2/analytics/{source}/aggregates/jobs` of a source Genesys has jobs for.
    JobSubmit(&'static Source),
    /// `.../aggregates/jobs/{jobId}` (`GET`, `DELETE`) and `.../{jobId}/results` (`GET`).
    Job(&'static Source),
    Observations,
    AgentCounts,
    Details,
    Queues,
    /// `/api/v2/routing/queues/{queueId}/members`.
    QueueMembers,
    Trunks,
    TrunkMetrics,
    /// Users, wrap-up codes, divisions, skills, languages, teams, campaigns.
    Listing,
    /// `/api/v2/notifications/channels`: make one, list them.
    Channels,
    /// `/api/v2/notifications/channels/{id}`: does it exist.
    Channel,
    /// `/api/v2/notifications/channels/{id}/subscriptions`.
    Subscriptions,
    /// `/channels/{id}`: a channel's WebSocket (no token: the channel id is the key).
    Socket,
}

const POST: &[Method] = &[Method::POST];
const GET: &[Method] = &[Method::GET];

fn route(path: &str) -> Option<(Route, &'static [Method])> {
    match path {
        TOKEN_PATH => Some((Route::Token, POST)),
        OBSERVATIONS_PATH => Some((Route::Observations, POST)),
        AGENT_COUNTS_PATH => Some((Route::AgentCounts, POST)),
        DETAILS_PATH => Some((Route::Details, POST)),
        QUEUES_PATH => Some((Route::Queues, GET)),
        trunks::TRUNKS_PATH => Some((Route::Trunks, GET)),
        trunks::TRUNK_METRICS_PATH => Some((Route::TrunkMetrics, GET)),
        notifications::CHANNELS_PATH => Some((Route::Channels, &[Method::POST, Method::GET])),
        _ if members::queue_of(path).is_some() => Some((Route::QueueMembers, GET)),
        _ if channel_id(path).is_some() => {
            let (route, methods): (Route, &'static [Method]) =
                match path.rsplit_once('/').map(|(_, last)| last) {
                    Some("subscriptions") => (
                        Route::Subscriptions,
                        &[Method::PUT, Method::POST, Method::GET, Method::DELETE],
                    ),
                    _ if path.starts_with(notifications::SOCKET_PREFIX) => (Route::Socket, GET),
                    _ => (Route::Channel, &[Method::HEAD]),
                };
            Some((route, methods))
        }
        _ => {
            if let Some((source, rest)) = jobs::route(path) {
                return Some(if rest.is_empty() {
                    (Route::JobSubmit(source), POST)
                } else if rest.ends_with("/results") {
                    (Route::Job(source), GET)
                } else {
                    (Route::Job(source), &[Method::GET, Method::DELETE])
                });
            }
            let segment = path
                .strip_prefix("/api/v2/analytics/")?
                .strip_suffix("/aggregates/query")?;
            catalogue::source(segment).map(|source| (Route::Aggregates(source), POST))
        }
    }
}

/// The channel id of a channel's path (`.../channels/{id}`,
/// `.../channels/{id}/subscriptions`, `/channels/{id}`).
fn channel_id(path: &str) -> Option<&str> {
    let rest = path
        .strip_prefix(notifications::CHANNELS_PATH)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(|rest| rest.strip_suffix("/subscriptions").unwrap_or(rest))
        .or_else(|| path.strip_prefix(notifications::SOCKET_PREFIX))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

/// Serves one request. Never fails: every problem becomes an HTTP error response.
pub(super) async fn handle(
    shared: Arc<Shared>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let arrived = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let context_id = codec::random_uuid();
    let bearer = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::parse_bearer)
        .map(str::to_string);

    let fault = shared.faults.pick(&path, arrived);
    if let Some(kind) = &fault {
        tracing::debug!(%path, fault = ?kind, "simulator injecting a fault");
    }
    let replaced = fault.as_ref().is_some_and(|kind| kind.replaces_answer());
    let (mut response, rate, query) = match &fault {
        Some(kind) if replaced => {
            // The body is read all the same, so the log says what was asked.
            let query = match route(&path) {
                Some((Route::Aggregates(_) | Route::JobSubmit(_), _)) => read_body(request)
                    .await
                    .ok()
                    .and_then(|body| serde_json::from_slice::<SentQuery>(&body).ok()),
                _ => None,
            };
            (faults::replacement(kind, &context_id).await, None, query)
        }
        _ => {
            let (response, rate, query) =
                dispatch(&shared, request, &path, &context_id, bearer.as_deref()).await;
            match &fault {
                Some(kind) => (faults::distort(kind, response).await, rate, query),
                None => (response, rate, query),
            }
        }
    };

    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&context_id) {
        headers.insert("inin-correlation-id", value);
    }
    if let Some(date) = shared.faults.date_header() {
        headers.insert(hyper::header::DATE, date);
    }
    // A fault that answers instead of the API says only what the fault says.
    if path != TOKEN_PATH && !replaced {
        let rate = rate.unwrap_or_else(|| shared.limiter.peek(bearer.as_deref(), Instant::now()));
        headers.insert("inin-ratelimit-count", HeaderValue::from(rate.count));
        headers.insert("inin-ratelimit-allowed", HeaderValue::from(rate.limit));
        headers.insert("inin-ratelimit-reset", HeaderValue::from(rate.reset_secs));
    }

    let status = response.status().as_u16();
    tracing::debug!(
        %method,
        %path,
        status,
        elapsed_ms = arrived.elapsed().as_millis() as u64,
        context_id = %context_id,
        "simulator request"
    );
    shared.record(RecordedRequest {
        at: arrived,
        answered: Instant::now(),
        method,
        path,
        status,
        query,
    });
    Ok(response)
}

/// Picks the answer; also returns the rate-limit window when the limiter counted
/// the request, and what an aggregates request asked for.
async fn dispatch(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    path: &str,
    context_id: &str,
    bearer: Option<&str>,
) -> (Response<Body>, Option<RateStatus>, Option<SentQuery>) {
    let listing = || {
        shared
            .directory
            .lists(path)
            .then_some((Route::Listing, GET))
    };
    let Some((route, allowed)) = route(path).or_else(listing) else {
        let message = format!("No resource found at {path}");
        let response =
            respond::genesys_error(StatusCode::NOT_FOUND, "not.found", &message, context_id);
        return (response, None, None);
    };
    if !allowed.contains(request.method()) {
        let message = format!("Method {} is not allowed on {path}", request.method());
        let mut response = respond::genesys_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method.not.allowed",
            &message,
            context_id,
        );
        let names: Vec<&str> = allowed.iter().map(Method::as_str).collect();
        if let Ok(value) = HeaderValue::from_str(&names.join(", ")) {
            response.headers_mut().insert(ALLOW, value);
        }
        return (response, None, None);
    }
    if route == Route::Token {
        return (token(shared, request).await, None, None);
    }
    if route == Route::Socket {
        let id = channel_id(path).unwrap_or_default();
        return (
            notifications::connect(shared, request, id, context_id),
            None,
            None,
        );
    }

    let now = Instant::now();
    let check = shared.tokens.check(bearer, now);
    let token = match (check, bearer) {
        (TokenCheck::Valid, Some(token)) => token,
        (check, _) => {
            tracing::debug!(?check, "simulator rejected bearer token");
            let (code, message) = if check == TokenCheck::Missing {
                (
                    "authentication.required",
                    "No authentication bearer token specified in authorization header.",
                )
            } else {
                ("bad.credentials", "Invalid login credentials.")
            };
            let response =
                respond::genesys_error(StatusCode::UNAUTHORIZED, code, message, context_id);
            return (response, None, None);
        }
    };
    let rate = shared.limiter.acquire(token, now);
    if !rate.allowed {
        return (
            respond::too_many_requests(rate.reset_secs, context_id),
            Some(rate),
            None,
        );
    }
    let (response, query) = match route {
        Route::Aggregates(source) => aggregates(shared, request, source, context_id).await,
        Route::JobSubmit(source) => match read_body(request).await {
            Ok(body) => (
                jobs::submit(shared, source, &body, context_id),
                serde_json::from_slice::<SentQuery>(&body).ok(),
            ),
            Err(error) => (body_error_response(error, context_id), None),
        },
        Route::Job(source) => {
            let (_, rest) = jobs::route(path).unwrap_or((source, ""));
            let method = request.method().clone();
            let query = request.uri().query();
            (
                jobs::serve(shared, source, &method, rest, query, context_id).await,
                None,
            )
        }
        Route::Observations => (queue_observations(shared, request, context_id).await, None),
        Route::AgentCounts => (agent_counts(shared, request, context_id).await, None),
        Route::Details => (
            conversation_details(shared, request, context_id).await,
            None,
        ),
        Route::Queues => (
            match queues::page(
                &shared.queues,
                request.uri().query(),
                shared.config.queue_page_limit,
            ) {
                Ok(body) => respond::json_response(StatusCode::OK, &body),
                Err(message) => bad_request(&message, context_id),
            },
            None,
        ),
        Route::QueueMembers => (
            queue_members(shared, path, request.uri().query(), context_id),
            None,
        ),
        Route::Trunks | Route::TrunkMetrics => {
            (trunk_answer(shared, &request, route, context_id), None)
        }
        Route::Listing => (
            match listing_page(shared, path, request.uri().query()) {
                Ok(body) => respond::json_response(StatusCode::OK, &body),
                Err(message) => bad_request(&message, context_id),
            },
            None,
        ),
        Route::Channels | Route::Channel | Route::Subscriptions => (
            channels(shared, request, route, path, context_id, token).await,
            None,
        ),
        Route::Token | Route::Socket => (
            respond::genesys_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal.server.error",
                "unexpected route",
                context_id,
            ),
            None,
        ),
    };
    (response, Some(rate), query)
}

fn bad_request(message: &str, context_id: &str) -> Response<Body> {
    respond::genesys_error(StatusCode::BAD_REQUEST, "bad.request", message, context_id)
}

/// Why a body could not be read.
enum BodyError {
    TooLarge,
    Broken(String),
}

async fn read_body(request: Request<Incoming>) -> Result<Bytes, BodyError> {
    match Limited::new(request.into_body(), MAX_BODY_BYTES)
        .collect()
        .await
    {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge),
        Err(error) => Err(BodyError::Broken(error.to_string())),
    }
}

fn body_error_response(error: BodyError, context_id: &str) -> Response<Body> {
    match error {
        BodyError::TooLarge => respond::body_too_large(MAX_BODY_BYTES, context_id),
        BodyError::Broken(reason) => bad_request(
            &format!("Could not read the request body: {reason}"),
            context_id,
        ),
    }
}

/// `POST /oauth/token`: the client-credentials grant.
async fn token(shared: &Shared, request: Request<Incoming>) -> Response<Body> {
    let credentials = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(auth::parse_basic);
    let authenticated = credentials.as_ref().is_some_and(|(id, secret)| {
        // Evaluate both comparisons so timing does not reveal which one failed.
        let id_ok = auth::constant_time_eq(id, &shared.config.client_id);
        let secret_ok = auth::constant_time_eq(secret, &lock(&shared.client_secret));
        id_ok & secret_ok
    });
    if !authenticated {
        let description = if credentials.is_none() {
            "client authentication failed: send Authorization: Basic base64(client_id:client_secret)"
        } else {
            "client authentication failed: unknown client id or wrong secret"
        };
        return respond::oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", description);
    }
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return respond::oauth_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "request body too large",
            );
        }
        Err(BodyError::Broken(reason)) => {
            return respond::oauth_error(StatusCode::BAD_REQUEST, "invalid_request", &reason);
        }
    };
    let form = codec::form_pairs(&String::from_utf8_lossy(&body));
    let grant = form
        .iter()
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v.as_str());
    match grant {
        Some("client_credentials") => {
            let token = shared.tokens.issue(Instant::now());
            tracing::debug!("simulator issued a token");
            respond::json_response(
                StatusCode::OK,
                &json!({
                    "access_token": token,
                    "token_type": "bearer",
                    "expires_in": shared.tokens.lifetime().as_secs(),
                }),
            )
        }
        Some(other) => respond::oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            &format!("grant type '{other}' is not supported; use client_credentials"),
        ),
        None => respond::oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type is missing; use grant_type=client_credentials",
        ),
    }
}

/// `POST /api/v2/analytics/{source}/aggregates/query`; also returns what the body asked
/// for, when it could be read as a JSON object.
async fn aggregates(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    source: &'static Source,
    context_id: &str,
) -> (Response<Body>, Option<SentQuery>) {
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(error) => return (body_error_response(error, context_id), None),
    };
    let sent = serde_json::from_slice::<SentQuery>(&body).ok();
    let limits = aggregate::QueryLimits {
        max_predicates: shared.config.max_predicates,
    };
    let query = match aggregate::parse_query(&body, &shared.world, limits, source) {
        Ok(query) => query,
        Err(error) => {
            let response = respond::invalid_field(&error.field, &error.message, context_id);
            return (response, sent);
        }
    };
    // The simulator's clock, which a clock-skew fault moves against the host's.
    let now_ms = shared.faults.now().timestamp_millis();
    let worker = Arc::clone(shared);
    let work = move || {
        let answer = sources::answer_text(&worker.world, &query, now_ms);
        respond::json_text(StatusCode::OK, answer)
    };
    (computed(work, "aggregate", context_id).await, sent)
}

/// A page of a listing of the directory; the users' with their state when expanded,
/// at the simulator's clock.
fn listing_page(shared: &Shared, path: &str, query: Option<&str>) -> Result<Value, String> {
    let limit = shared.config.listing_page_limit;
    if path == users::USERS_PATH {
        let now_ms = shared.faults.now().timestamp_millis();
        users::page(&shared.directory, &shared.world, query, limit, now_ms)
    } else {
        shared.directory.page(path, query, limit)
    }
}

/// A queue's members at the simulator's clock; an unknown queue a 404.
fn queue_members(
    shared: &Shared,
    path: &str,
    query: Option<&str>,
    context_id: &str,
) -> Response<Body> {
    let queue = members::queue_of(path).unwrap_or_default();
    let now_ms = shared.faults.now().timestamp_millis();
    match members::page(&shared.directory, &shared.world, queue, query, now_ms) {
        Ok(body) => respond::json_response(StatusCode::OK, &body),
        Err(members::Refusal::BadRequest(message)) => bad_request(&message, context_id),
        Err(members::Refusal::UnknownQueue(message)) => {
            respond::genesys_error(StatusCode::NOT_FOUND, "not.found", &message, context_id)
        }
    }
}

/// The trunk listing or the trunk metrics, at the simulator's clock.
fn trunk_answer(
    shared: &Shared,
    request: &Request<Incoming>,
    route: Route,
    context_id: &str,
) -> Response<Body> {
    let now_ms = shared.faults.now().timestamp_millis();
    let query = request.uri().query();
    let answer = if route == Route::Trunks {
        trunks::page(
            &shared.trunks,
            &shared.world,
            query,
            shared.config.listing_page_limit,
            now_ms,
        )
    } else {
        trunks::metrics(&shared.trunks, &shared.world, query, now_ms)
    };
    match answer {
        Ok(body) => respond::json_response(StatusCode::OK, &body),
        Err(message) => bad_request(&message, context_id),
    }
}

/// `POST /api/v2/analytics/queues/observations/query`.
async fn queue_observations(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    context_id: &str,
) -> Response<Body> {
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(error) => return body_error_response(error, context_id),
    };
    let query = match observations::parse_query(&body, &shared.world) {
        Ok(query) => query,
        Err(message) => return bad_request(&message, context_id),
    };
    // The simulator's clock, which a clock-skew fault moves against the host's.
    let now_ms = shared.faults.now().timestamp_millis();
    let worker = Arc::clone(shared);
    let work = move || {
        respond::json_response(
            StatusCode::OK,
            &observations::run(&worker.world, &query, now_ms),
        )
    };
    computed(work, "observation", context_id).await
}

/// `POST /api/v2/analytics/agents/status/counts` (see [`agent_counts`]).
async fn agent_counts(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    context_id: &str,
) -> Response<Body> {
    let query = request.uri().query().map(str::to_string);
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(error) => return body_error_response(error, context_id),
    };
    let now_ms = shared.faults.now().timestamp_millis();
    match agent_counts::answer(&shared.world, query.as_deref(), &body, now_ms) {
        Ok(counts) => respond::json_response(StatusCode::OK, &counts),
        Err(refusal) => respond::invalid_field(&refusal.field, &refusal.message, context_id),
    }
}

/// `POST /api/v2/analytics/conversations/details/query` (see [`details`]).
async fn conversation_details(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    context_id: &str,
) -> Response<Body> {
    let body = match read_body(request).await {
        Ok(body) => body,
        Err(error) => return body_error_response(error, context_id),
    };
    let query = match details::parse_query(&body) {
        Ok(query) => query,
        Err(refusal) => {
            return respond::invalid_field(&refusal.field, &refusal.message, context_id);
        }
    };
    let now_ms = shared.faults.now().timestamp_millis();
    let worker = Arc::clone(shared);
    let work = move || {
        respond::json_response(StatusCode::OK, &details::run(&worker.world, &query, now_ms))
    };
    computed(work, "details", context_id).await
}

/// The Notifications API's REST side: channels and their subscriptions.
async fn channels(
    shared: &Arc<Shared>,
    request: Request<Incoming>,
    route: Route,
    path: &str,
    context_id: &str,
    token: &str,
) -> Response<Body> {
    let now = shared.faults.now();
    let notifications = &shared.notifications;
    let id = channel_id(path).unwrap_or_default();
    let method = request.method().clone();
    let answer = match (route, method) {
        (Route::Channels, Method::POST) => Ok(Some(notifications.create_channel(token, now))),
        (Route::Channels, _) => notifications
            .list_channels(token, request.uri().query(), now)
            .map(Some),
        (Route::Channel, _) => {
            let status = if notifications.channel_exists(id, now) {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            return respond::empty(status);
        }
        (_, Method::GET) => notifications.subscriptions(id, now).map(Some),
        (_, Method::DELETE) => notifications.unsubscribe_all(id, now).map(|()| None),
        (_, method) => {
            let how = if method == Method::PUT {
                notifications::Subscribe::Replace
            } else {
                notifications::Subscribe::Add
            };
            let body = match read_body(request).await {
                Ok(body) => body,
                Err(error) => return body_error_response(error, context_id),
            };
            notifications
                .subscribe(id, how, &body, &shared.world, now)
                .map(Some)
        }
    };
    match answer {
        Ok(Some(body)) => respond::json_response(StatusCode::OK, &body),
        Ok(None) => respond::empty(StatusCode::NO_CONTENT),
        Err(refusal) => {
            respond::genesys_error(refusal.status, refusal.code, &refusal.message, context_id)
        }
    }
}

/// The answer `work` makes, run off the async workers (generating traffic and writing
/// its JSON is CPU work); a 500 naming the `what` computation if it fails.
async fn computed(
    work: impl FnOnce() -> Response<Body> + Send + 'static,
    what: &str,
    context_id: &str,
) -> Response<Body> {
    match tokio::task::spawn_blocking(work).await {
        Ok(answer) => answer,
        Err(error) => {
            tracing::warn!(%error, what, "simulator computation failed");
            respond::genesys_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal.server.error",
                &format!("The {what} computation failed"),
                context_id,
            )
        }
    }
}
