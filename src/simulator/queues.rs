//! `GET /api/v2/routing/queues`: the org's queues and Genesys-style paging.
//!
//! Names are realistic so dashboards built on the simulator look plausible; ids come
//! from the traffic model so they match the `queueId` values of the aggregates.

use serde_json::{Value, json};

use super::Queue;
use super::codec::form_pairs;

/// Default `pageSize` when the request gives none.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 25;
/// Largest `pageSize` accepted by default; more is a 400.
pub(crate) const MAX_PAGE_SIZE: u64 = 500;

/// What the queue listing does with a `pageSize` over its largest. Genesys list
/// endpoints differ: some answer 400, some serve a smaller page and say so in the
/// response's `pageSize`, `pageCount` and `nextUri`.
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

const BASE_NAMES: &[&str] = &[
    "Billing",
    "Technical Support",
    "Sales",
    "Customer Service",
    "Returns",
    "Accounts",
    "Claims",
    "Retention",
    "Onboarding",
    "Collections",
    "Shipping",
    "Warranty",
    "Premium Support",
    "Reservations",
    "Complaints",
    "Renewals",
    "Fraud",
    "Payments",
    "Orders",
    "Loyalty",
];
const REGIONS: &[&str] = &["EMEA", "APAC", "Americas", "Nordics", "DACH", "LATAM"];

/// The name of queue `index`: the base names first, then regional variants, then numbered.
fn queue_name(index: usize) -> String {
    let base = BASE_NAMES[index % BASE_NAMES.len()];
    let round = index / BASE_NAMES.len();
    if round == 0 {
        base.to_string()
    } else if round <= REGIONS.len() {
        format!("{base} {}", REGIONS[round - 1])
    } else {
        format!("{base} {}", round - REGIONS.len() + 1)
    }
}

/// The org's queues, pairing the traffic model's ids with generated names.
pub(crate) fn build(ids: &[String]) -> Vec<Queue> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| Queue {
            id: id.clone(),
            name: queue_name(i),
        })
        .collect()
}

/// One page of the queue listing; the error is the message of a 400.
pub(crate) fn page(
    queues: &[Queue],
    query: Option<&str>,
    limit: PageSizeLimit,
) -> Result<Value, String> {
    let mut page_size = DEFAULT_PAGE_SIZE;
    let mut page_number: u64 = 1;
    for (key, value) in form_pairs(query.unwrap_or("")) {
        match key.as_str() {
            "pageSize" => {
                page_size = value
                    .parse()
                    .map_err(|_| format!("invalid pageSize '{value}': must be a whole number"))?;
                match limit {
                    PageSizeLimit::Refuse(max) if page_size == 0 || page_size > max => {
                        return Err(format!(
                            "invalid pageSize {page_size}: must be between 1 and {max}"
                        ));
                    }
                    PageSizeLimit::Cap(max) if page_size == 0 || page_size > max => {
                        page_size = max.max(1);
                    }
                    _ => {}
                }
            }
            "pageNumber" => {
                page_number = value
                    .parse()
                    .map_err(|_| format!("invalid pageNumber '{value}': must be a whole number"))?;
                if page_number == 0 {
                    return Err("invalid pageNumber 0: pages are numbered from 1".into());
                }
            }
            _ => {}
        }
    }
    let total = queues.len() as u64;
    let page_count = total.div_ceil(page_size);
    let skip = (page_number - 1).saturating_mul(page_size);
    let entities: Vec<Value> = queues
        .iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(page_size).unwrap_or(usize::MAX))
        .map(entity)
        .collect();
    let uri = |n: u64| format!("/api/v2/routing/queues?pageSize={page_size}&pageNumber={n}");
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

/// A queue entity with the fields a client commonly reads.
fn entity(queue: &Queue) -> Value {
    json!({
        "id": queue.id,
        "name": queue.name,
        "description": format!("{} queue (simulated)", queue.name),
        "division": {
            "id": "00000000-0000-4000-8000-000000000001",
            "name": "Home",
            "selfUri": "/api/v2/authorization/divisions/00000000-0000-4000-8000-000000000001",
        },
        "memberCount": 12,
        "userMemberCount": 12,
        "joinedMemberCount": 10,
        "scoringMethod": "TimestampAndPriority",
        "skillEvaluationMethod": "ALL",
        "dateCreated": "2024-01-15T09:00:00.000Z",
        "selfUri": format!("/api/v2/routing/queues/{}", queue.id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: usize) -> Vec<Queue> {
        let ids: Vec<String> = (0..n).map(|i| format!("id-{i}")).collect();
        build(&ids)
    }

    #[test]
    fn names_are_unique_and_realistic() {
        let qs = queues(300);
        let mut names: Vec<&str> = qs.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names[0], "Billing");
        assert_eq!(names[1], "Technical Support");
        assert_eq!(names[20], "Billing EMEA");
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 300);
    }

    #[test]
    fn paging() {
        let qs = queues(12);
        let page = |qs: &[Queue], query| page(qs, query, PageSizeLimit::default());
        let p1 = page(&qs, Some("pageSize=5&pageNumber=1")).unwrap_or_default();
        assert_eq!(p1["entities"].as_array().map(Vec::len), Some(5));
        assert_eq!(p1["pageCount"], 3);
        assert_eq!(p1["total"], 12);
        assert_eq!(
            p1["nextUri"],
            "/api/v2/routing/queues?pageSize=5&pageNumber=2"
        );
        assert!(p1.get("previousUri").is_none());
        let p3 = page(&qs, Some("pageNumber=3&pageSize=5")).unwrap_or_default();
        assert_eq!(p3["entities"].as_array().map(Vec::len), Some(2));
        assert!(p3.get("nextUri").is_none());
        assert_eq!(
            p3["previousUri"],
            "/api/v2/routing/queues?pageSize=5&pageNumber=2"
        );
        assert_eq!(
            p3["lastUri"],
            "/api/v2/routing/queues?pageSize=5&pageNumber=3"
        );
        let p9 = page(&qs, Some("pageSize=5&pageNumber=9")).unwrap_or_default();
        assert_eq!(p9["entities"].as_array().map(Vec::len), Some(0));
        let default = page(&qs, None).unwrap_or_default();
        assert_eq!(default["pageSize"], 25);
        assert_eq!(default["entities"].as_array().map(Vec::len), Some(12));
        assert!(page(&qs, Some("pageSize=501")).is_err());
        assert!(page(&qs, Some("pageSize=0")).is_err());
        assert!(page(&qs, Some("pageSize=abc")).is_err());
        assert!(page(&qs, Some("pageNumber=0")).is_err());
        assert!(page(&qs, Some("pageNumber=-1")).is_err());
    }

    #[test]
    fn a_capped_listing_serves_smaller_pages_and_says_so() {
        let qs = queues(12);
        let capped = |query| super::page(&qs, Some(query), PageSizeLimit::Cap(5));
        let p2 = capped("pageSize=500&pageNumber=2").unwrap_or_default();
        assert_eq!(p2["pageSize"], 5);
        assert_eq!(p2["pageCount"], 3);
        assert_eq!(p2["entities"][0]["id"], "id-5");
        assert_eq!(
            p2["nextUri"],
            "/api/v2/routing/queues?pageSize=5&pageNumber=3"
        );
        let refused = super::page(&qs, Some("pageSize=101"), PageSizeLimit::Refuse(100));
        assert!(refused.is_err_and(|e| e.contains("between 1 and 100")));
    }
}
