//! `GET /api/v2/routing/queues/{queueId}/members`: a queue's members, and which queues
//! each agent is active on, the `activeQueueIds` of its activity events.
//!
//! Both come from one model: a queue's members are the agents its conversations are
//! handed to ([`World::queue_members`]), and every member is joined (active on the
//! queue), so an agent's `activeQueueIds` ([`queues_of_agents`]) are exactly the
//! queues whose joined members list it. `joined=false` therefore lists nobody.
//!
//! Shapes from the SDK (purecloudplatformclientv2 269, `get_routing_queue_members`):
//! `pageSize` "Max value is 100" (more is a 400, as the listings refuse theirs),
//! `pageNumber`, `joined` (a boolean), `expand`; the answer is a
//! `QueueMemberEntityListing {entities, pageNumber, pageSize, firstUri, selfUri,
//! nextUri, previousUri}` (no `total`, `pageCount` or `lastUri`, which the SDK model
//! does not have) of `QueueMember {id, name, ringNumber, joined, memberBy,
//! routingStatus, selfUri}`. An unknown queue is a 404. Not verified, so chosen
//! plainly: `routingStatus` only with `expand=routingStatus` (as the users listing has
//! it), the other filters (`name`, `skills`, `memberBy`, ...) ignored, and `nextUri`
//! without the filters.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::codec::form_pairs;
use super::directory::Directory;
use super::listings::{self, Listed, PageSizeLimit};
use super::users::{USERS_PATH, expand};
use crate::world::World;
use crate::world::agents;

/// Members a page at most.
const MAX_PAGE_SIZE: u64 = 100;

/// Why a members request is refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// No such queue: a 404.
    UnknownQueue(String),
    /// A 400, with its message.
    BadRequest(String),
}

/// The queue id of a members path, `None` for any other path.
pub(super) fn queue_of(path: &str) -> Option<&str> {
    let id = path
        .strip_prefix("/api/v2/routing/queues/")?
        .strip_suffix("/members")?;
    (!id.is_empty() && !id.contains('/')).then_some(id)
}

/// Each agent's active queues (the queues it is a joined member of), by agent: what its
/// activity events send as `activeQueueIds`.
pub(super) fn queues_of_agents(world: &World) -> HashMap<u32, Vec<&str>> {
    let mut queues: HashMap<u32, Vec<&str>> = HashMap::new();
    for (queue, id) in world.queue_ids().iter().enumerate() {
        for agent in world.queue_members(queue as u32) {
            queues.entry(agent).or_default().push(id);
        }
    }
    queues
}

/// One member as listed.
struct Member<'a> {
    id: &'a str,
    name: &'a str,
    queue_id: &'a str,
    /// The routing status now, when `expand` asks for it.
    routing_status: Option<&'static str>,
}

impl Listed for Member<'_> {
    fn id(&self) -> &str {
        self.id
    }

    fn entity(&self) -> Value {
        let mut entity = json!({
            "id": self.id,
            "name": self.name,
            "ringNumber": 1,
            "joined": true,
            "memberBy": "user",
            "selfUri": format!("/api/v2/routing/queues/{}/members/{}", self.queue_id, self.id),
        });
        if let Some(status) = self.routing_status {
            entity["routingStatus"] = json!({"userId": self.id, "status": status});
        }
        entity
    }
}

/// One page of queue `queue_id`'s members at `now_ms`.
pub(super) fn page(
    directory: &Directory,
    world: &World,
    queue_id: &str,
    query: Option<&str>,
    now_ms: i64,
) -> Result<Value, Refusal> {
    let Some(queue) = world.queue_ids().iter().position(|id| id == queue_id) else {
        return Err(Refusal::UnknownQueue(format!("No queue {queue_id}")));
    };
    let mut joined = None;
    for (key, value) in form_pairs(query.unwrap_or("")) {
        if key == "joined" {
            joined = Some(value.parse::<bool>().map_err(|_| {
                Refusal::BadRequest(format!(
                    "joined: {value:?} is not a valid value; expected true or false"
                ))
            })?);
        }
    }
    let with_status = expand(query)
        .map_err(Refusal::BadRequest)?
        .iter()
        .any(|e| e == "routingStatus");
    let users = directory.entries(USERS_PATH);
    let members: Vec<Member<'_>> = if joined == Some(false) {
        Vec::new()
    } else {
        world
            .queue_members(queue as u32)
            .into_iter()
            .map(|agent| {
                let id = &world.agent_ids()[agent as usize];
                Member {
                    id,
                    name: users
                        .get(agent as usize)
                        .filter(|user| user.id == *id)
                        .map_or("", |user| user.name.as_str()),
                    queue_id: &world.queue_ids()[queue],
                    routing_status: with_status
                        .then(|| agents::state(world, agent, now_ms).routing.name()),
                }
            })
            .collect()
    };
    let path = format!("/api/v2/routing/queues/{queue_id}/members");
    let mut body = listings::numbered(&path, &members, query, PageSizeLimit::Refuse(MAX_PAGE_SIZE))
        .map_err(Refusal::BadRequest)?;
    if let Some(fields) = body.as_object_mut() {
        for absent in ["total", "pageCount", "lastUri"] {
            fields.remove(absent);
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new(7, 3)
    }

    fn ids(body: &Value) -> Vec<String> {
        body["entities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn joined_members_are_the_agents_whose_activity_lists_the_queue() {
        let world = world();
        let directory = Directory::build(&world, 7);
        let active = queues_of_agents(&world);
        for (queue, queue_id) in world.queue_ids().iter().enumerate().take(4) {
            let body = page(&directory, &world, queue_id, Some("joined=true"), 0).unwrap();
            let listed = ids(&body);
            let expected: Vec<String> = world
                .agent_ids()
                .iter()
                .enumerate()
                .filter(|(agent, _)| {
                    active
                        .get(&(*agent as u32))
                        .is_some_and(|queues| queues.contains(&queue_id.as_str()))
                })
                .map(|(_, id)| id.clone())
                .collect();
            assert!(!listed.is_empty(), "queue {queue} has no members");
            let mut sorted = listed.clone();
            sorted.sort();
            let mut expected = expected;
            expected.sort();
            assert_eq!(sorted, expected, "queue {queue}");
            let member = &body["entities"][0];
            assert_eq!(member["joined"], true);
            assert!(member["name"].as_str().is_some_and(|n| !n.is_empty()));
            assert!(member.get("routingStatus").is_none());
            assert!(body.get("total").is_none() && body.get("pageCount").is_none());
        }
        let queue_id = &world.queue_ids()[0];
        let unjoined = page(&directory, &world, queue_id, Some("joined=false"), 0).unwrap();
        assert!(ids(&unjoined).is_empty());
    }

    #[test]
    fn pages_follow_next_uri_and_status_comes_with_expand() {
        let world = world();
        let directory = Directory::build(&world, 7);
        let queue_id = &world.queue_ids()[1];
        let whole = ids(&page(&directory, &world, queue_id, Some("pageSize=100"), 0).unwrap());
        let mut paged = Vec::new();
        for number in 1.. {
            let query = format!("pageSize=2&pageNumber={number}&expand=routingStatus");
            let body = page(&directory, &world, queue_id, Some(&query), 0).unwrap();
            assert!(body["entities"][0]["routingStatus"]["status"].is_string());
            paged.extend(ids(&body));
            if body.get("nextUri").is_none() {
                break;
            }
        }
        assert_eq!(paged, whole);
    }

    #[test]
    fn refusals_are_as_the_api_makes_them() {
        let world = world();
        let directory = Directory::build(&world, 7);
        let queue_id = &world.queue_ids()[0];
        let refused = |query: &str| page(&directory, &world, queue_id, Some(query), 0);
        match refused("pageSize=101") {
            Err(Refusal::BadRequest(message)) => assert!(message.contains("100"), "{message}"),
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(refused("joined=yes"), Err(Refusal::BadRequest(m)) if m.contains("joined"))
        );
        assert!(
            matches!(refused("expand=nope"), Err(Refusal::BadRequest(m)) if m.contains("expand"))
        );
        assert!(matches!(
            page(&directory, &world, "no-such-queue", None, 0),
            Err(Refusal::UnknownQueue(_))
        ));
        assert_eq!(queue_of("/api/v2/routing/queues/q1/members"), Some("q1"));
        assert_eq!(queue_of("/api/v2/routing/queues//members"), None);
        assert_eq!(queue_of("/api/v2/routing/queues/q1/members/u1"), None);
    }
}
