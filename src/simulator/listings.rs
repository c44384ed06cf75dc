//! Genesys-style paging of a listing: numbered pages (`pageSize`, `pageNumber`,
//! `pageCount`, `nextUri`), cursor pages (`pageSize`, `after`, `nextUri`), and the
//! `id` filter some listings take (`id=a,b` or `id=a&id=b`).

use serde_json::{Value, json};

use super::codec::form_pairs;

/// Default `pageSize` when the request gives none.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 25;
/// Largest `pageSize` accepted by default; more is a 400.
pub(crate) const MAX_PAGE_SIZE: u64 = 500;
/// Most ids one request may ask for with `id`.
pub(crate) const MAX_IDS: usize = 100;

/// What a listing does with a `pageSize` over its largest. Genesys list endpoints
/// differ: some answer 400, some serve a smaller page and say so in the response's
/// `pageSize`, `pageCount` and `nextUri`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSizeLimit {
    /// A `pageSize` over this is a 400.
    Refuse(u64),
    /// A `pageSize` over this is served as this, silently.
    Cap(u64),
}

impl Default for PageSizeLimit {
    fn default() -> Self {
        PageSizeLimit::Refuse(MAX_PAGE_SIZE)
    }
}

/// Something a listing lists: its id, and its JSON entity.
pub(crate) trait Listed {
    fn id(&self) -> &str;
    fn entity(&self) -> Value;
}

/// What a request asks of a listing.
struct Request {
    page_size: u64,
    page_number: u64,
    after: Option<String>,
    /// The `id` filter: only these, when given.
    ids: Option<Vec<String>>,
}

/// Reads the query string; the error is the message of a 400.
fn request(query: Option<&str>, limit: PageSizeLimit) -> Result<Request, String> {
    let mut asked = Request {
        page_size: DEFAULT_PAGE_SIZE,
        page_number: 1,
        after: None,
        ids: None,
    };
    for (key, value) in form_pairs(query.unwrap_or("")) {
        match key.as_str() {
            "pageSize" => {
                let size: u64 = value
                    .parse()
                    .map_err(|_| format!("invalid pageSize '{value}': must be a whole number"))?;
                asked.page_size = match limit {
                    PageSizeLimit::Refuse(max) if size == 0 || size > max => {
                        return Err(format!(
                            "invalid pageSize {size}: must be between 1 and {max}"
                        ));
                    }
                    PageSizeLimit::Cap(max) if size == 0 || size > max => max.max(1),
                    _ => size,
                };
            }
            "pageNumber" => {
                asked.page_number = value
                    .parse()
                    .map_err(|_| format!("invalid pageNumber '{value}': must be a whole number"))?;
                if asked.page_number == 0 {
                    return Err("invalid pageNumber 0: pages are numbered from 1".into());
                }
            }
            "after" => asked.after = Some(value),
            "id" => asked.ids.get_or_insert_with(Vec::new).extend(
                value
                    .split(',')
                    .filter(|id| !id.is_empty())
                    .map(String::from),
            ),
            _ => {}
        }
    }
    if let Some(ids) = &asked.ids
        && ids.len() > MAX_IDS
    {
        return Err(format!(
            "too many ids: {} given, at most {MAX_IDS} a request",
            ids.len()
        ));
    }
    Ok(asked)
}

/// The entities a request's `id` filter keeps (all without one), in listing order.
fn filtered<'a, T: Listed>(items: &'a [T], ids: Option<&[String]>) -> Vec<&'a T> {
    match ids {
        Some(ids) => items
            .iter()
            .filter(|item| ids.iter().any(|id| id == item.id()))
            .collect(),
        None => items.iter().collect(),
    }
}

/// One numbered page of `items`, listed at `path`; the error is the message of a 400.
pub(crate) fn numbered<T: Listed>(
    path: &str,
    items: &[T],
    query: Option<&str>,
    limit: PageSizeLimit,
) -> Result<Value, String> {
    let asked = request(query, limit)?;
    let page_size = asked.page_size;
    let page_number = asked.page_number;
    let items = filtered(items, asked.ids.as_deref());
    let total = items.len() as u64;
    let page_count = total.div_ceil(page_size);
    let skip = (page_number - 1).saturating_mul(page_size);
    let entities: Vec<Value> = items
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .map(|item| item.entity())
        .collect();
    let uri = |n: u64| format!("{path}?pageSize={page_size}&pageNumber={n}");
    let mut body = json!({
        "entities": entities,
        "pageSize": page_size,
        "pageNumber": page_number,
        "total": total,
        "pageCount": page_count,
        "selfUri": uri(page_number),
        "firstUri": uri(1),
        "lastUri": uri(page_count.max(1)),
    });
    if page_number < page_count {
        body["nextUri"] = json!(uri(page_number + 1));
    }
    if page_number > 1 {
        body["previousUri"] = json!(uri((page_number - 1).min(page_count.max(1))));
    }
    Ok(body)
}

/// One cursor page of `items`, listed at `path`: `after` is the opaque cursor a previous
/// page's `nextUri` gave; the error is the message of a 400.
pub(crate) fn cursor<T: Listed>(
    path: &str,
    items: &[T],
    query: Option<&str>,
    limit: PageSizeLimit,
) -> Result<Value, String> {
    let asked = request(query, limit)?;
    let page_size = usize::try_from(asked.page_size).unwrap_or(usize::MAX);
    let start = match &asked.after {
        None => 0,
        Some(cursor) => decode_cursor(cursor)
            .filter(|&offset| offset <= items.len())
            .ok_or_else(|| format!("invalid cursor '{cursor}'"))?,
    };
    let end = start.saturating_add(page_size).min(items.len());
    let entities: Vec<Value> = items[start..end].iter().map(Listed::entity).collect();
    let uri = |after: Option<usize>| match after {
        Some(offset) => format!(
            "{path}?pageSize={page_size}&after={}",
            encode_cursor(offset)
        ),
        None => format!("{path}?pageSize={page_size}"),
    };
    let mut body = json!({
        "entities": entities,
        "selfUri": uri((start > 0).then_some(start)),
    });
    if end < items.len() {
        body["nextUri"] = json!(uri(Some(end)));
    }
    if start > 0 {
        body["previousUri"] = json!(uri(start.checked_sub(page_size).filter(|&s| s > 0)));
    }
    Ok(body)
}

/// Cursors are opaque to clients: an offset dressed up so that nobody parses it.
fn encode_cursor(offset: usize) -> String {
    format!("c{:x}z", offset ^ 0x5a5a)
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let hex = cursor.strip_prefix('c')?.strip_suffix('z')?;
    usize::from_str_radix(hex, 16).ok().map(|v| v ^ 0x5a5a)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Item(String);

    impl Listed for Item {
        fn id(&self) -> &str {
            &self.0
        }
        fn entity(&self) -> Value {
            json!({"id": self.0, "name": format!("Item {}", self.0)})
        }
    }

    fn items(n: usize) -> Vec<Item> {
        (0..n).map(|i| Item(format!("id-{i}"))).collect()
    }

    #[test]
    fn the_id_filter_takes_commas_or_repeats_and_at_most_100() {
        let all = items(300);
        let page = numbered(
            "/x",
            &all,
            Some("id=id-3,id-1&id=id-250"),
            PageSizeLimit::default(),
        )
        .unwrap_or_default();
        let ids: Vec<&str> = page["entities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["id"].as_str())
            .collect();
        assert_eq!(ids, ["id-1", "id-3", "id-250"]);
        assert_eq!(page["total"], 3);
        let many: Vec<String> = (0..101).map(|i| format!("id-{i}")).collect();
        let query = format!("id={}", many.join(","));
        let refused = numbered("/x", &all, Some(&query), PageSizeLimit::default());
        assert!(refused.is_err_and(|e| e.contains("at most 100")));
    }

    #[test]
    fn cursor_pages_walk_the_whole_list_through_next_uri() {
        let all = items(7);
        let mut query = "pageSize=3".to_string();
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = cursor(
                "/api/v2/teams",
                &all,
                Some(&query),
                PageSizeLimit::default(),
            )
            .unwrap_or_default();
            pages += 1;
            for entity in page["entities"].as_array().into_iter().flatten() {
                seen.push(entity["id"].as_str().unwrap_or_default().to_string());
            }
            assert!(page.get("pageNumber").is_none());
            match page["nextUri"].as_str() {
                Some(next) => {
                    query = next
                        .split_once('?')
                        .map(|(_, q)| q.to_string())
                        .unwrap_or_default();
                }
                None => break,
            }
        }
        assert_eq!(pages, 3);
        let expected: Vec<String> = (0..7).map(|i| format!("id-{i}")).collect();
        assert_eq!(seen, expected);
        let bad = cursor("/t", &all, Some("after=nonsense"), PageSizeLimit::default());
        assert!(bad.is_err_and(|e| e.contains("invalid cursor")));
        let capped =
            cursor("/t", &all, Some("pageSize=500"), PageSizeLimit::Cap(2)).unwrap_or_default();
        assert_eq!(capped["entities"].as_array().map(Vec::len), Some(2));
    }
}
