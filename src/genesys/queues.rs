//! Queue names: the `queue_name` label that makes dashboards readable.
//!
//! Names are fetched with every page of `GET /api/v2/routing/queues`, cached, and
//! refreshed periodically. A failed refresh keeps the last good names: a name that is a
//! few minutes old beats a label that flips to empty.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::{ApiError, GenesysClient, QUEUE_PAGE_SIZE, QUEUE_PAGE_SIZE_SAFE};

/// The most pages one refresh follows: a guard against a server that never ends its list
/// (500,000 queues at 500 a page, 100,000 at 100).
const MAX_PAGES: u32 = 1000;

/// Queue id to name, shared between the refresher and every poll.
#[derive(Debug)]
pub struct QueueNames {
    names: RwLock<Arc<HashMap<String, String>>>,
    /// Whether a refresh has succeeded, so that "no queues" is told from "not read yet".
    listed: AtomicBool,
    /// The page size asked for: [`QUEUE_PAGE_SIZE`], or [`QUEUE_PAGE_SIZE_SAFE`] for
    /// good once the API has refused the larger one with a 400.
    page_size: AtomicU32,
}

impl Default for QueueNames {
    fn default() -> Self {
        QueueNames {
            names: RwLock::default(),
            listed: AtomicBool::new(false),
            page_size: AtomicU32::new(QUEUE_PAGE_SIZE),
        }
    }
}

impl QueueNames {
    /// The current names; cheap (an `Arc` clone), so a poll takes one view and uses it
    /// for the whole mapping.
    pub fn current(&self) -> Arc<HashMap<String, String>> {
        Arc::clone(
            &self
                .names
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// How many queues the last good refresh listed, `None` before the first: the queues
    /// in the OAuth client's divisions. Conversations in divisions it cannot see are left
    /// out of every aggregate total, so an operator should know how many it sees.
    pub fn visible(&self) -> Option<usize> {
        self.listed
            .load(Ordering::Relaxed)
            .then(|| self.current().len())
    }

    fn replace(&self, names: HashMap<String, String>) {
        *self
            .names
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(names);
        self.listed.store(true, Ordering::Relaxed);
    }

    /// Fetches every page and replaces the names; on failure keeps the old ones.
    pub async fn refresh(&self, client: &GenesysClient) -> Result<usize, ApiError> {
        match self.fetch_all(client).await {
            Ok((names, pages)) => {
                let count = names.len();
                self.replace(names);
                tracing::info!(queues = count, pages, "queue names refreshed");
                Ok(count)
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot refresh queue names; keeping the last good ones");
                Err(err)
            }
        }
    }

    /// Refreshes every `period` until the task is dropped. The first refresh is the
    /// caller's, so that the first polls already have names.
    pub async fn keep_fresh(self: Arc<Self>, client: Arc<GenesysClient>, period: Duration) {
        loop {
            tokio::time::sleep(period).await;
            // Errors are logged by refresh and the old names stay.
            let _ = self.refresh(&client).await;
        }
    }
}

impl QueueNames {
    /// Every queue and the number of pages read, at the largest page size the API takes:
    /// after a 400 to [`QUEUE_PAGE_SIZE`], the listing starts again at
    /// [`QUEUE_PAGE_SIZE_SAFE`], which this and every later refresh then use.
    async fn fetch_all(
        &self,
        client: &GenesysClient,
    ) -> Result<(HashMap<String, String>, u32), ApiError> {
        loop {
            let asked = self.page_size.load(Ordering::Relaxed);
            match fetch_pages(client, asked).await {
                Err(ApiError::Rejected {
                    status: 400,
                    message,
                    ..
                }) if asked > QUEUE_PAGE_SIZE_SAFE => {
                    self.page_size
                        .store(QUEUE_PAGE_SIZE_SAFE, Ordering::Relaxed);
                    tracing::warn!(refused = asked, page_size = QUEUE_PAGE_SIZE_SAFE, error = %message, "the API refused the larger queue page size; asking for the documented safe size from now on");
                }
                other => return other,
            }
        }
    }
}

/// Every queue, following the pages until `pageCount` (or a missing `nextUri`) says the
/// list is done. The API may serve smaller pages than asked for, and says so in the first
/// page's `pageSize`: later pages are asked at that size, so that page numbers keep
/// counting the same pages. Item counts are never assumed.
async fn fetch_pages(
    client: &GenesysClient,
    asked: u32,
) -> Result<(HashMap<String, String>, u32), ApiError> {
    let mut names = HashMap::new();
    let mut page_size = asked;
    for page_number in 1..=MAX_PAGES {
        let page = client.queue_page(page_number, page_size).await?;
        if page_number == 1
            && let Some(served) = page.page_size.filter(|&s| s > 0 && s < page_size)
        {
            tracing::debug!(
                asked,
                served,
                "the API serves smaller queue pages than asked for"
            );
            page_size = served;
        }
        let last = page.next_uri.is_none()
            || page.page_count.is_some_and(|count| page_number >= count)
            || page.entities.is_empty();
        names.extend(
            page.entities
                .into_iter()
                .map(|queue| (queue.id, queue.name)),
        );
        if last {
            return Ok((names, page_number));
        }
    }
    tracing::warn!(
        pages = MAX_PAGES,
        "queue list did not end; using what was read"
    );
    Ok((names, MAX_PAGES))
}
