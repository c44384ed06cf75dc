//! Queue names: the `queue_name` label that makes dashboards readable.
//!
//! Names are fetched with every page of `GET /api/v2/routing/queues`, cached, and
//! refreshed periodically. A failed refresh keeps the last good names: a name that is a
//! few minutes old beats a label that flips to empty.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::{ApiError, GenesysClient};

/// The most pages one refresh follows: a guard against a server that never ends its list
/// (100,000 queues at 100 a page).
const MAX_PAGES: u32 = 1000;

/// Queue id to name, shared between the refresher and every poll.
#[derive(Debug, Default)]
pub struct QueueNames {
    names: RwLock<Arc<HashMap<String, String>>>,
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

    fn replace(&self, names: HashMap<String, String>) {
        *self
            .names
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(names);
    }

    /// Fetches every page and replaces the names; on failure keeps the old ones.
    pub async fn refresh(&self, client: &GenesysClient) -> Result<usize, ApiError> {
        match fetch_all(client).await {
            Ok(names) => {
                let count = names.len();
                self.replace(names);
                tracing::info!(queues = count, "queue names refreshed");
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

/// Every queue, following the pages until `pageCount` (or a missing `nextUri`) says the
/// list is done.
async fn fetch_all(client: &GenesysClient) -> Result<HashMap<String, String>, ApiError> {
    let mut names = HashMap::new();
    for page_number in 1..=MAX_PAGES {
        let page = client.queue_page(page_number).await?;
        let last = page.next_uri.is_none()
            || page.page_count.is_some_and(|count| page_number >= count)
            || page.entities.is_empty();
        names.extend(
            page.entities
                .into_iter()
                .map(|queue| (queue.id, queue.name)),
        );
        if last {
            return Ok(names);
        }
    }
    tracing::warn!(
        pages = MAX_PAGES,
        "queue list did not end; using what was read"
    );
    Ok(names)
}
