//! Noticing connections on which nothing moves.
//!
//! hyper closes an idle HTTP/1 connection after its header timeout, but an HTTP/2
//! connection may sit idle for ever, and a client that stops reading its response stalls
//! a write for ever; either would hold one of the limited connection slots. [`Watched`]
//! wraps the socket and notes when bytes last moved in either direction, and
//! [`Activity::idle_for`] completes once none have for a given time.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// When bytes last moved on a connection; cheap to clone and to update.
#[derive(Clone, Debug)]
pub(super) struct Activity {
    origin: Instant,
    /// Milliseconds from `origin` to the last read or write that moved bytes.
    last: Arc<AtomicU64>,
}

impl Activity {
    pub(super) fn new() -> Activity {
        Activity {
            origin: Instant::now(),
            last: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let millis = u64::try_from(self.origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(millis, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.origin + Duration::from_millis(self.last.load(Ordering::Relaxed))
    }

    /// Completes once no byte has moved for `limit`.
    pub(super) async fn idle_for(&self, limit: Duration) {
        loop {
            let deadline = self.last() + limit;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    }
}

/// A stream that records its reads and writes in an [`Activity`].
#[derive(Debug)]
pub(super) struct Watched<I> {
    inner: I,
    activity: Activity,
}

impl<I> Watched<I> {
    pub(super) fn new(inner: I, activity: Activity) -> Watched<I> {
        Watched { inner, activity }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        if buf.filled().len() > before {
            self.activity.touch();
        }
        Poll::Ready(Ok(()))
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.inner).poll_write(cx, buf))?;
        self.touch_if(written);
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = ready!(Pin::new(&mut self.inner).poll_write_vectored(cx, bufs))?;
        self.touch_if(written);
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<I> Watched<I> {
    fn touch_if(&self, written: usize) {
        if written > 0 {
            self.activity.touch();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn idle_time_counts_from_the_last_byte_moved() {
        let (client, server) = tokio::io::duplex(64);
        let activity = Activity::new();
        let mut server = Watched::new(server, activity.clone());
        let mut client = client;

        // Bytes read at 3 s and written at 5 s: idle from 5 s on.
        tokio::time::advance(Duration::from_secs(3)).await;
        client.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        server.read_exact(&mut buf).await.unwrap();
        tokio::time::advance(Duration::from_secs(2)).await;
        server.write_all(b"pong").await.unwrap();
        let written_at = Instant::now();

        activity.idle_for(Duration::from_secs(5)).await;
        assert_eq!(Instant::now(), written_at + Duration::from_secs(5));
    }
}
