//! The pages of a numbered listing (`pageSize`, `pageNumber`, `pageCount`, `nextUri`),
//! followed to the end: what the names directory, a pushed agents set's users listing
//! and its queues' members ([`super::user_states`]) all read.

use serde_json::value::RawValue;

use super::{ApiError, GenesysClient};

/// The most pages one read of one listing follows: a guard against a server that
/// never ends its list (500,000 entities at 500 a page).
pub const MAX_PAGES: u32 = 1000;

/// What reading a numbered listing's pages took and found.
#[derive(Debug, Default)]
pub struct PagesRead {
    pub requests: u32,
    /// What `take` counted, and pages over the size limit.
    pub warnings: u64,
    /// Some page was skipped: the entities taken are not the whole list.
    pub partial: bool,
}

/// The pages of a numbered listing (`endpoint` label, `path`, with `extra` query
/// pairs besides the paging), each page's entities handed to `take` (which returns
/// those it could not use), until `pageCount` (or a missing `nextUri`) says the list is
/// done. The API may serve smaller pages than asked for, and says so in the first
/// page's `pageSize`: later pages are asked at that size, so that page numbers keep
/// counting the same pages. A page over the size limit is skipped (and counted, and the
/// read marked partial) once the page count is known; the first one cannot be.
pub async fn read_numbered_pages(
    client: &GenesysClient,
    (endpoint, path): (&'static str, &str),
    extra: &[(&str, &str)],
    asked: u32,
    mut take: impl FnMut(Vec<Box<RawValue>>) -> u64,
) -> Result<PagesRead, ApiError> {
    let mut read = PagesRead::default();
    let mut page_size = asked;
    let mut page_count: Option<u32> = None;
    for page_number in 1..=MAX_PAGES {
        let size = page_size.to_string();
        let number = page_number.to_string();
        let mut pairs = vec![("pageSize", size.as_str()), ("pageNumber", number.as_str())];
        pairs.extend_from_slice(extra);
        read.requests += 1;
        let page = match client.listing_page(endpoint, path, &pairs).await {
            Ok(page) => page,
            Err(ApiError::TooLarge { .. }) if page_count.is_some() => {
                read.warnings += 1;
                read.partial = true;
                if page_count.is_some_and(|count| page_number >= count) {
                    return Ok(read);
                }
                continue;
            }
            Err(err) => return Err(err),
        };
        if page_number == 1
            && let Some(served) = page.page_size.filter(|&s| s > 0 && s < page_size)
        {
            tracing::debug!(
                endpoint,
                asked,
                served,
                "the API serves smaller pages than asked for"
            );
            page_size = served;
        }
        page_count = page.page_count.or(page_count);
        let last = page.next_uri.is_none()
            || page.page_count.is_some_and(|count| page_number >= count)
            || page.entities.is_empty();
        read.warnings += take(page.entities);
        if last {
            return Ok(read);
        }
    }
    tracing::warn!(
        endpoint,
        pages = MAX_PAGES,
        "the listing did not end; using what was read"
    );
    Ok(read)
}
