//! The HTTP side: `/metrics`, the landing page, and health endpoints, served by hyper.
//!
//! A scrape only reads what the last publish prepared ([`crate::snapshot`]): the
//! pre-encoded series in the format the client asked for (plain or gzipped), as the
//! chunks the snapshot keeps them in (sent as they are, never copied together), followed
//! by the exporter's own metrics, which are few and encoded on the spot.
//!
//! Connections (limits, TLS) are handled in [`crate::web::listener`]; this module checks
//! basic auth when configured and answers the request.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use crate::genesys::names::NameDirectory;
use crate::gzip;
use crate::reload::ReloadHandle;
use crate::schedule::Planner;
use crate::snapshot::{EncodedSeries, SnapshotStore};
use crate::telemetry::Telemetry;
use crate::web::{Limits, LiveWebConfig, WebConfig, listener};

const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PROMETHEUS_TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the handlers read.
#[derive(Debug)]
pub struct AppState {
    pub store: Arc<SnapshotStore>,
    pub telemetry: Arc<Telemetry>,
    /// `--web.telemetry-path`.
    pub telemetry_path: String,
    pub requests_per_minute: u32,
    /// Whether the exporter polls the built-in simulator (`--demo`): shown on the page.
    pub demo: bool,
    /// The request plan, shown on the page (none in benchmarks that serve without one).
    pub planner: Option<Arc<Planner>>,
    /// The names of the ids queries group by (queues read only while some query groups
    /// by queue): the page shows how many queues the OAuth client can see.
    pub names: Arc<NameDirectory>,
    /// Present with `--web.enable-lifecycle`: `POST /-/reload` reloads the config.
    pub reload: Option<ReloadHandle>,
}

/// How the server is protected: TLS, users and headers from `--web.config.file` (the
/// config in force, which reloads and certificate rotations replace), and the limits.
#[derive(Debug)]
pub struct Security {
    pub web_config: Arc<LiveWebConfig>,
    pub limits: Limits,
}

/// Serves every listener until `shutdown` completes, then lets open requests finish.
/// With basic auth configured, every path but the probes needs a user.
pub async fn serve(
    listeners: Vec<TcpListener>,
    state: Arc<AppState>,
    security: Security,
    shutdown: impl Future<Output = ()>,
) {
    let web = Arc::clone(&security.web_config);
    let service = service_fn(move |request: Request<Incoming>| {
        let state = Arc::clone(&state);
        let web = web.load();
        async move {
            let mut response = answer(&state, web.as_deref(), request).await;
            if let Some(web) = &web {
                let headers = response.headers_mut();
                for (name, value) in &web.headers {
                    headers.insert(name.clone(), value.clone());
                }
            }
            Ok::<_, Infallible>(response)
        }
    });
    listener::serve(
        listeners,
        security.web_config,
        security.limits,
        service,
        shutdown,
    )
    .await;
}

/// Checks basic auth when configured, then answers.
async fn answer(state: &AppState, web: Option<&WebConfig>, request: Request<Incoming>) -> Reply {
    let path = request.uri().path();
    if let Some(web) = web
        && let Some(auth) = &web.basic_auth
        && !is_probe(path)
        && !web.auth_excluded_paths.iter().any(|p| p == path)
        && !auth
            .allows(request.headers().get(header::AUTHORIZATION))
            .await
    {
        return unauthorized();
    }
    if path == "/-/reload" {
        return reload(state, request.method()).await;
    }
    route(state, &request)
}

/// `POST /-/reload` (or PUT, as Prometheus takes): 200 with what changed, 400 with why
/// the new config was refused, 403 without `--web.enable-lifecycle`.
async fn reload(state: &AppState, method: &Method) -> Reply {
    if !matches!(*method, Method::POST | Method::PUT) {
        let mut response = text_reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "Only POST or PUT requests allowed.\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST, PUT"));
        return response;
    }
    let Some(handle) = &state.reload else {
        return text_reply(
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled; start the exporter with --web.enable-lifecycle (SIGHUP reloads regardless).\n",
        );
    };
    match handle.reload().await {
        Ok(changes) => text_reply(StatusCode::OK, format!("Reloaded: {changes}.\n")),
        Err(err) => text_reply(
            StatusCode::BAD_REQUEST,
            format!("Failed to reload the config; the previous one keeps serving: {err}\n"),
        ),
    }
}

/// `/-/healthy` and `/-/ready` answer without basic auth: Kubernetes probes and container
/// health checks carry no credentials, and the answers reveal only whether the process
/// runs and whether every query has been polled once.
fn is_probe(path: &str) -> bool {
    matches!(path, "/-/healthy" | "/-/ready")
}

fn unauthorized() -> Reply {
    let mut response = text_reply(StatusCode::UNAUTHORIZED, "Unauthorized.\n");
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"genesys-cloud-exporter\", charset=\"UTF-8\""),
    );
    response
}

type Reply = Response<ChunkedBody>;

/// Dispatches one request. (For HEAD, hyper sends the headers without the body.)
fn route(state: &AppState, request: &Request<Incoming>) -> Reply {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = text_reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "Only GET and HEAD are supported.\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let path = request.uri().path();
    if path == state.telemetry_path {
        metrics(state, request)
    } else {
        match path {
            "/" => html_reply(landing_page(state)),
            "/-/healthy" => text_reply(StatusCode::OK, "Healthy\n"),
            "/-/ready" => {
                if state.store.all_attempted() {
                    text_reply(StatusCode::OK, "Ready\n")
                } else {
                    text_reply(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Not ready: some queries have not been polled yet.\n",
                    )
                }
            }
            _ => text_reply(StatusCode::NOT_FOUND, "Not found.\n"),
        }
    }
}

/// The telemetry path: pre-encoded conversation series plus self-metrics.
fn metrics(state: &AppState, request: &Request<Incoming>) -> Reply {
    let openmetrics = accepts(request, header::ACCEPT, "application/openmetrics-text");
    let gzipped = accepts(request, header::ACCEPT_ENCODING, "gzip");
    // The conversation series read the same in both formats; only the self-metrics
    // (and OpenMetrics' `# EOF`) differ.
    let conversations: Arc<EncodedSeries> = state.store.exposition();
    let own = state.telemetry.scrape_tail(openmetrics);
    let body = if gzipped {
        // One gzip member: the pieces prepared when each entry was published, then the
        // self-metrics'.
        ChunkedBody::from(gzip::member(&conversations.gzip, &own.gzip))
    } else {
        let mut chunks = Vec::with_capacity(conversations.plain.len() + 1);
        chunks.extend(conversations.plain.iter().cloned());
        chunks.push(own.plain.clone());
        ChunkedBody::from(chunks)
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if openmetrics {
            OPENMETRICS_CONTENT_TYPE
        } else {
            PROMETHEUS_TEXT_CONTENT_TYPE
        }),
    );
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    response
}

/// Whether a comma-separated header (`Accept`, `Accept-Encoding`) lists `wanted` with a
/// non-zero quality.
fn accepts(request: &Request<Incoming>, name: header::HeaderName, wanted: &str) -> bool {
    request
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| offers(item, wanted))
}

fn offers(item: &str, wanted: &str) -> bool {
    let mut parts = item.split(';').map(str::trim);
    let matches = parts
        .next()
        .is_some_and(|media| media.eq_ignore_ascii_case(wanted));
    let quality = parts
        .filter_map(|p| p.strip_prefix("q="))
        .find_map(|q| q.parse::<f64>().ok())
        .unwrap_or(1.0);
    matches && quality > 0.0
}

fn text_reply(status: StatusCode, text: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(ChunkedBody::from(vec![text.into()]));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn html_reply(html: String) -> Reply {
    let mut response = Response::new(ChunkedBody::from(vec![Bytes::from(html)]));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// The landing page: what each query is doing, the API budget and the names known.
fn landing_page(state: &AppState) -> String {
    let path = escape(&state.telemetry_path);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Genesys Cloud Exporter</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:.3em .6em;text-align:left}}.err{{color:#b00}}</style></head><body>\
         <h1>Genesys Cloud Exporter</h1><p>Version {version}.{demo} Metrics: <a href=\"{path}\">{path}</a> · \
         <a href=\"/-/healthy\">/-/healthy</a> · <a href=\"/-/ready\">/-/ready</a></p>\
         <p>API budget: {budget} requests per minute. Analytics samples exported: {samples}.</p>\
         <p>Queues the OAuth client can see: {queues}. Genesys lists only the queues in the client's \
         divisions, and leaves conversations in other divisions out of every total.</p>\
         <h2>Queries and observations</h2><table><tr><th>query</th><th>source, granularity</th><th>interval exported</th>\
         <th>last success</th><th>last error</th><th>next poll</th><th>samples</th></tr>",
        version = env!("CARGO_PKG_VERSION"),
        demo = if state.demo {
            " <strong>Demo mode: the data comes from the built-in simulator, not from Genesys Cloud.</strong>"
        } else {
            ""
        },
        budget = state.requests_per_minute,
        samples = state.store.exposition().samples,
        queues = match state.names.visible_queues() {
            Some(count) => count.to_string(),
            None =>
                "not listed yet (queues are listed while a query groups by queueId)".to_string(),
        },
    );
    for status in state.store.statuses() {
        let _ = write!(
            page,
            "<tr><td>{name}</td><td>{granularity}</td><td>{interval}</td><td>{success}</td>\
             <td class=\"err\">{error}</td><td>{next}</td><td>{samples}</td></tr>",
            name = escape(&status.name),
            granularity = escape(&status.granularity),
            interval = match (status.interval, status.observed_at) {
                (Some(interval), _) => escape(&interval.to_iso8601()),
                (None, Some(at)) => format!("observed {}", time_or(Some(at), "")),
                (None, None) => "none yet".to_string(),
            },
            success = time_or(status.last_success, "never"),
            error = escape(status.last_error.as_deref().unwrap_or("")),
            next = time_or(status.next_poll, "-"),
            samples = status.samples,
        );
    }
    page.push_str("</table>");
    if let Some(push) = state.telemetry.push_summary() {
        let age =
            |seconds: Option<f64>| seconds.map_or("never".to_string(), |s| format!("{s:.0} s ago"));
        let _ = write!(
            page,
            "<h2>Push (Notifications API)</h2><p>Channels open: {channels}. Topics permitted:              {permitted}, rejected: <span class=\"{class}\">{rejected}</span>. Last event: {event}.              Last heartbeat: {heartbeat}.</p><table><tr><th>pushed set</th><th>state</th></tr>",
            channels = push.channels,
            permitted = push.permitted,
            rejected = push.rejected,
            class = if push.rejected > 0 { "err" } else { "" },
            event = age(push.seconds_since_event),
            heartbeat = age(push.seconds_since_heartbeat),
        );
        for (name, up) in &push.sets {
            let _ = write!(
                page,
                "<tr><td>{name}</td><td{class}>{state}</td></tr>",
                name = escape(name),
                class = if *up { "" } else { " class=\"err\"" },
                state = if *up {
                    "pushed"
                } else {
                    "push down: the last values stay, polled every reconcile (auto: every refresh)"
                },
            );
        }
        page.push_str("</table>");
    }
    let names = state.telemetry.names_known();
    if !names.is_empty() {
        page.push_str("<h2>Names</h2><table><tr><th>dimension</th><th>names known</th></tr>");
        for (dimension, count) in names {
            let _ = write!(
                page,
                "<tr><td>{dimension}</td><td>{count}</td></tr>",
                dimension = escape(dimension),
            );
        }
        page.push_str("</table>");
    }
    if let Some(planner) = &state.planner {
        let _ = write!(
            page,
            "<h2>Request plan</h2><pre>{}</pre>",
            escape(&planner.current().to_string())
        );
    }
    page.push_str("</body></html>\n");
    page
}

fn time_or(time: Option<DateTime<Utc>>, missing: &str) -> String {
    time.map_or_else(
        || missing.to_string(),
        |t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    )
}

/// Minimal HTML escaping for text from configuration and error messages.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A response body made of a few ready chunks, sent without copying them together.
#[derive(Debug, Default)]
pub struct ChunkedBody {
    chunks: VecDeque<Bytes>,
}

impl From<Vec<Bytes>> for ChunkedBody {
    fn from(chunks: Vec<Bytes>) -> Self {
        ChunkedBody {
            chunks: chunks.into_iter().filter(|c| !c.is_empty()).collect(),
        }
    }
}

impl Body for ChunkedBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.chunks.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.chunks.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.chunks.iter().map(|c| c.len() as u64).sum())
    }
}
