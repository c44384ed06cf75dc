//! Building HTTP responses in the shapes Genesys Cloud uses.
//!
//! Every API error is a Genesys `ErrorBody`; the login endpoint uses the OAuth error
//! shape instead. Keeping the builders in one place keeps the two shapes from drifting.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::{Value, json};

/// Body type of every simulator response: usually the whole answer built in memory,
/// but a fault may stream one lazily or cut it short (see `faults`).
pub(crate) type Body = BoxBody<Bytes, std::io::Error>;

/// A JSON response with the given status.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    json_bytes(status, bytes)
}

/// A JSON response of JSON already written as text.
pub(crate) fn json_text(status: StatusCode, text: String) -> Response<Body> {
    json_bytes(status, text.into_bytes())
}

fn json_bytes(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    let body = Full::new(Bytes::from(bytes))
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A response without a body (a HEAD's, a DELETE's or job cancel's `204`, a WebSocket
/// upgrade's).
pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let body = Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// The Genesys `ErrorBody` JSON: `message`, `code`, `status`, `contextId`, `details`, `errors`.
pub(crate) fn error_body(status: StatusCode, code: &str, message: &str, context_id: &str) -> Value {
    json!({
        "message": message,
        "code": code,
        "status": status.as_u16(),
        "contextId": context_id,
        "details": [],
        "errors": [],
    })
}

/// A 400 for a request that names a field wrongly: a Genesys `ErrorBody` whose
/// `details[0].fieldName` names the field, so a client can tell which part to fix.
pub(crate) fn invalid_field(field: &str, message: &str, context_id: &str) -> Response<Body> {
    let mut body = error_body(StatusCode::BAD_REQUEST, "bad.request", message, context_id);
    body["details"] = json!([{ "errorCode": "invalid.value", "fieldName": field }]);
    json_response(StatusCode::BAD_REQUEST, &body)
}

/// A 413 for a body over the payload limit, with the limit in the `ErrorBody`'s `limit`.
pub(crate) fn body_too_large(limit_bytes: usize, context_id: &str) -> Response<Body> {
    let status = StatusCode::PAYLOAD_TOO_LARGE;
    let message = format!("The request body exceeds the limit of {limit_bytes} bytes");
    let mut body = error_body(status, "request.entity.too.large", &message, context_id);
    body["limit"] = json!({ "key": "request.bytes.max", "value": limit_bytes });
    json_response(status, &body)
}

/// A response carrying a Genesys `ErrorBody`.
pub(crate) fn genesys_error(
    status: StatusCode,
    code: &str,
    message: &str,
    context_id: &str,
) -> Response<Body> {
    json_response(status, &error_body(status, code, message, context_id))
}

/// A 429 in the exact shape Genesys uses, with `Retry-After`.
pub(crate) fn too_many_requests(retry_after_secs: u64, context_id: &str) -> Response<Body> {
    let message = format!(
        "Rate limit exceeded the maximum. Retry the request in [{retry_after_secs}] seconds"
    );
    let mut response = genesys_error(
        StatusCode::TOO_MANY_REQUESTS,
        "too.many.requests.retry.after",
        &message,
        context_id,
    );
    response
        .headers_mut()
        .insert("retry-after", HeaderValue::from(retry_after_secs));
    response
}

/// The error `code` Genesys uses for a status, for injected faults.
pub(crate) fn code_for_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad.request",
        401 => "bad.credentials",
        403 => "missing.any.permissions",
        404 => "not.found",
        405 => "method.not.allowed",
        408 => "request.timeout",
        413 => "request.entity.too.large",
        429 => "too.many.requests.retry.after",
        500 => "internal.server.error",
        501 => "not.implemented",
        502 => "bad.gateway",
        503 => "service.unavailable",
        504 => "gateway.timeout",
        _ => "error",
    }
}

/// An OAuth error from the login endpoint:
/// `{"error": ..., "description": ..., "error_description": ...}`.
pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response<Body> {
    json_response(
        status,
        &json!({
            "error": error,
            "description": description,
            "error_description": description,
        }),
    )
}
