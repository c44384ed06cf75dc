//! A channel's WebSocket: the HTTP upgrade at `connectUri`, then one task per socket
//! that sends what the channel is given (events, closes), heartbeats on its own timer and
//! answers `{"message": "ping"}` with a `pong`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

use super::super::Shared;
use super::super::respond::{self, Body};
use super::{Notifications, Outgoing, event_frame};

/// Upgrades `GET /channels/{id}` to the channel's WebSocket; a channel that does not
/// exist (or has expired) is a 404, a request that is no WebSocket handshake a 400.
pub(in crate::simulator) fn connect(
    shared: &Arc<Shared>,
    mut request: Request<Incoming>,
    id: &str,
    context_id: &str,
) -> Response<Body> {
    let headers = request.headers();
    let has = |name, token: &str| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .map(|k| k.as_bytes().to_vec());
    let (true, true, Some(key)) = (has(CONNECTION, "upgrade"), has(UPGRADE, "websocket"), key)
    else {
        return respond::genesys_error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            "A channel's connectUri takes a WebSocket handshake (Upgrade: websocket)",
            context_id,
        );
    };
    let now = shared.faults.now();
    let (serial, outgoing) = match shared.notifications.attach(id, now) {
        Ok(attached) => attached,
        Err(refusal) => {
            return respond::genesys_error(
                refusal.status,
                refusal.code,
                &refusal.message,
                context_id,
            );
        }
    };
    let upgrade = hyper::upgrade::on(&mut request);
    let owner = Arc::clone(shared);
    let id = id.to_string();
    tokio::spawn(async move {
        let notifications = &owner.notifications;
        match upgrade.await {
            Ok(upgraded) => {
                let mut socket =
                    WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None)
                        .await;
                run(&mut socket, outgoing, notifications, &id).await;
                // The channel is without a connection before the client can see the
                // socket end.
                notifications.detach(&id, serial);
            }
            Err(error) => {
                tracing::debug!(%error, channel = %id, "WebSocket upgrade failed");
                notifications.detach(&id, serial);
            }
        }
    });
    let mut response = respond::empty(StatusCode::SWITCHING_PROTOCOLS);
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(accept) = HeaderValue::from_str(&derive_accept_key(&key)) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// `channel.metadata` frames: heartbeats and pongs carry no version or metadata.
fn metadata(message: &str) -> Message {
    Message::text(
        json!({"topicName": "channel.metadata", "eventBody": {"message": message}}).to_string(),
    )
}

/// One socket's life: until the channel closes it, the client does, or the simulator
/// stops.
async fn run<S>(
    socket: &mut WebSocketStream<S>,
    mut outgoing: mpsc::UnboundedReceiver<Outgoing>,
    notifications: &Notifications,
    id: &str,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let period = notifications.heartbeat_interval;
    let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut stopped = notifications.stopped.clone();
    let mut close_at: Option<tokio::time::Instant> = None;
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        }))
    };
    loop {
        let deadline = close_at.unwrap_or_else(|| tokio::time::Instant::now() + LONG_WAIT);
        let sent = tokio::select! {
            _ = heartbeat.tick() => {
                if notifications.heartbeats_stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    Ok(())
                } else {
                    socket.send(metadata("WebSocket Heartbeat")).await
                }
            }
            command = outgoing.recv() => match command {
                Some(Outgoing::Frame(text)) => socket.send(Message::Text(text)).await,
                Some(Outgoing::Closing(grace)) => {
                    close_at = Some(tokio::time::Instant::now() + grace);
                    socket.send(Message::text(event_frame("v2.system.socket_closing", json!({})))).await
                }
                Some(Outgoing::Close(code, reason)) => {
                    let _ = socket.send(close(code, reason)).await;
                    break;
                }
                None => {
                    let _ = socket.send(close(1000, "channel closed")).await;
                    break;
                }
            },
            _ = tokio::time::sleep_until(deadline), if close_at.is_some() => {
                let _ = socket.send(close(1001, "going away")).await;
                break;
            }
            received = socket.next() => match received {
                Some(Ok(Message::Text(text))) => {
                    let ping = serde_json::from_str::<Value>(text.as_str())
                        .is_ok_and(|v| v.get("message").and_then(Value::as_str) == Some("ping"));
                    if ping {
                        socket.send(metadata("pong")).await
                    } else {
                        Ok(())
                    }
                }
                Some(Ok(Message::Close(_))) | None => break,
                // tungstenite answers pings itself; binary frames mean nothing here.
                Some(Ok(_)) => Ok(()),
                Some(Err(error)) => {
                    tracing::debug!(%error, channel = %id, "WebSocket read failed");
                    break;
                }
            },
            _ = stopped.changed() => {
                let _ = socket.send(close(1001, "going away")).await;
                break;
            }
        };
        if let Err(error) = sent {
            tracing::debug!(%error, channel = %id, "WebSocket write failed");
            break;
        }
    }
}

/// A deadline far enough away to never fire (a disabled `select!` branch still needs
/// one).
const LONG_WAIT: Duration = Duration::from_secs(86_400);
