//! Progress on standard error: a bar (buckets done, requests, rate, ETA) on a terminal,
//! a plain log line at most every [`LOG_EVERY`] otherwise, so that a long backfill in a
//! CI job or under systemd still says how far it is.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Least time between two progress log lines when standard error is not a terminal.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// How far a run is: buckets written out of the total, and requests sent.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    buckets: AtomicU64,
    requests: AtomicU64,
    started: Instant,
    last_log: Mutex<Instant>,
}

impl Progress {
    /// Progress over `total` buckets: a bar when standard error is a terminal.
    pub fn new(total: u64) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} buckets, {msg}, {per_sec}, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message("0 requests");
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            total,
            buckets: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            started: now,
            last_log: Mutex::new(now),
        }
    }

    /// One request answered.
    pub fn request(&self) {
        let requests = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar {
            bar.set_message(format!("{requests} requests"));
        }
    }

    /// `count` more buckets written.
    pub fn buckets(&self, count: usize) {
        let done = self.buckets.fetch_add(count as u64, Ordering::Relaxed) + count as u64;
        match &self.bar {
            Some(bar) => bar.set_position(done),
            None => {
                let mut last = self
                    .last_log
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if last.elapsed() >= LOG_EVERY || done == self.total {
                    *last = Instant::now();
                    self.log(done);
                }
            }
        }
    }

    fn log(&self, done: u64) {
        let elapsed = self.started.elapsed().as_secs_f64();
        let rate = if elapsed > 0.0 {
            done as f64 / elapsed
        } else {
            0.0
        };
        let eta = if rate > 0.0 {
            ((self.total - done.min(self.total)) as f64 / rate).round() as u64
        } else {
            0
        };
        tracing::info!(
            buckets = done,
            of = self.total,
            requests = self.requests.load(Ordering::Relaxed),
            buckets_per_second = format!("{rate:.1}"),
            eta = %humantime::format_duration(Duration::from_secs(eta)),
            "progress"
        );
    }

    /// Ends the bar (the log has had its last line with the last bucket).
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }

    /// Requests sent so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
