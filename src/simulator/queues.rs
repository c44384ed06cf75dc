//! `GET /api/v2/routing/queues`: the org's queues and Genesys-style paging.
//!
//! Names are realistic so dashboards built on the simulator look plausible; ids come
//! from the traffic model so they match the `queueId` values of the aggregates.

use serde_json::{Value, json};

use super::Queue;
use super::directory::{DIVISIONS_PATH, Directory};
use super::listings::{self, Listed, PageSizeLimit};
use crate::world::World;

/// Where the queues are listed.
const PATH: &str = "/api/v2/routing/queues";

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

/// The org's queues, pairing the traffic model's ids with generated names, each in
/// the division the traffic model puts it in.
pub(crate) fn build(ids: &[String], directory: &Directory) -> Vec<Queue> {
    let divisions = directory.entries(DIVISIONS_PATH);
    ids.iter()
        .enumerate()
        .map(|(i, id)| {
            let division = divisions.get(World::division_of(i));
            Queue {
                id: id.clone(),
                name: queue_name(i),
                division_id: division.map(|d| d.id.clone()).unwrap_or_default(),
                division_name: division.map(|d| d.name.clone()).unwrap_or_default(),
            }
        })
        .collect()
}

/// One page of the queue listing; the error is the message of a 400.
pub(crate) fn page(
    queues: &[Queue],
    query: Option<&str>,
    limit: PageSizeLimit,
) -> Result<Value, String> {
    listings::numbered(PATH, queues, query, limit)
}

impl Listed for Queue {
    fn id(&self) -> &str {
        &self.id
    }

    /// A queue entity with the fields a client commonly reads.
    fn entity(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "description": format!("{} queue (simulated)", self.name),
            "division": {
                "id": self.division_id,
                "name": self.division_name,
                "selfUri": format!("{DIVISIONS_PATH}/{}", self.division_id),
            },
            "memberCount": 12,
            "userMemberCount": 12,
            "joinedMemberCount": 10,
            "scoringMethod": "TimestampAndPriority",
            "skillEvaluationMethod": "ALL",
            "dateCreated": "2024-01-15T09:00:00.000Z",
            "selfUri": format!("/api/v2/routing/queues/{}", self.id),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: usize) -> Vec<Queue> {
        let ids: Vec<String> = (0..n).map(|i| format!("id-{i}")).collect();
        let world = World::new(1, 1);
        build(&ids, &Directory::build(&world, 1))
    }

    #[test]
    fn queues_are_spread_over_the_divisions_of_the_traffic_model() {
        let world = World::new(1, 1);
        let qs = queues(4);
        assert_eq!(qs[0].division_id, world.division_ids()[0]);
        assert_eq!(qs[0].division_name, "Home");
        assert_eq!(qs[1].division_id, world.division_ids()[1]);
        assert_eq!(qs[3].division_id, qs[0].division_id);
        let page = page(&qs, Some("pageSize=2"), PageSizeLimit::default()).unwrap_or_default();
        assert_eq!(
            page["entities"][1]["division"]["id"],
            qs[1].division_id.as_str()
        );
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
