//! Every agent's state now, for a pushed agents set: the users listing with its state
//! expanded (`GET /api/v2/users?expand=presence&expand=routingStatus&expand=outOfOffice`),
//! and the `v2.users.{id}.activity` events that change it.
//!
//! Why the listing: a pushed set needs each agent's state to apply an event to (an event
//! tells the new state, not the old), and the agents' ids to subscribe to. The listing
//! gives both, 500 users a page (10 requests for 5,000 agents); the SDK's other candidate,
//! `POST /api/v2/analytics/agents/status/query`, answers "the top 50 agents" of a query
//! and pages no further. The listing's user (SDK `User`: `routingStatus {status}`,
//! `presence {presenceDefinition {id, systemPresence}}`, `outOfOffice {active}`) and the
//! event (SDK `AgentActivityChangedTopicAgentActivity`, the same three fields) are read
//! by one lenient shape: unknown fields ignored, a field of the wrong type read as absent.
//!
//! The listing does not tell which queues an agent is active on; the event does
//! (`activeQueueIds`). A set that counts agents per queue (`per_queue`) reads each of
//! its queues' joined members (`GET /api/v2/routing/queues/{queueId}/members?joined=true`,
//! SDK `get_routing_queue_members`, `QueueMemberEntityListing {entities: [QueueMember
//! {id, name, joined, memberBy, routingStatus}], pageNumber, pageSize, nextUri}`, pages
//! of at most 100) beside the listing: a joined member is an agent active on that queue,
//! what `activeQueueIds` lists.

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::agents::SYSTEM_PRESENCES;
use super::pages::{PagesRead, read_numbered_pages};
use super::{ApiError, GenesysClient};

/// The users listing.
pub const USERS_PATH: &str = "/api/v2/users";
/// The `endpoint` label of its requests when read for the agents' state.
pub const USER_STATES_ENDPOINT: &str = "user_states";
/// The `expand` values that give a user's state.
pub const USER_STATE_EXPAND: [&str; 3] = ["presence", "routingStatus", "outOfOffice"];
/// Users a page: the listing's largest page.
pub const USER_STATES_PAGE_SIZE: u32 = 500;
/// A queue's members (`{queueId}` its id).
pub const QUEUE_MEMBERS_PATH: &str = "/api/v2/routing/queues/{queueId}/members";
/// The `endpoint` label of the members reads.
pub const QUEUE_MEMBERS_ENDPOINT: &str = "queue_members";
/// Members a page: the SDK's "Max value is 100".
pub const QUEUE_MEMBERS_PAGE_SIZE: u32 = 100;

/// The activity topic of user `id`.
pub fn activity_topic(id: &str) -> String {
    format!("v2.users.{id}.activity")
}

/// A user of the listing, or an activity event: the fields both have.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserState {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    /// The listing's users have one; events do not.
    #[serde(default, deserialize_with = "lenient")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub routing_status: Option<RoutingStatus>,
    #[serde(default, deserialize_with = "lenient")]
    pub presence: Option<Presence>,
    #[serde(default, deserialize_with = "lenient")]
    pub out_of_office: Option<OutOfOffice>,
    /// The queues the agent is active on: events have it, the listing's users do not.
    #[serde(default, deserialize_with = "lenient")]
    pub active_queue_ids: Option<Vec<String>>,
}

/// `routingStatus {status, startTime}`.
#[derive(Debug, Default, Deserialize)]
pub struct RoutingStatus {
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<String>,
}

/// `presence {presenceDefinition, modifiedDate}`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Presence {
    #[serde(default, deserialize_with = "lenient")]
    pub presence_definition: Option<PresenceDefinition>,
}

/// `presenceDefinition {id, systemPresence}`: the organization presence and its system
/// presence.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceDefinition {
    #[serde(default, deserialize_with = "lenient")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub system_presence: Option<String>,
}

/// `outOfOffice {active, ...}`.
#[derive(Debug, Default, Deserialize)]
pub struct OutOfOffice {
    #[serde(default, deserialize_with = "lenient")]
    pub active: Option<bool>,
}

/// A field read as `None` when it is absent, `null` or not of its type, so that one odd
/// field costs that field, not the user.
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

/// A system presence as the agent counts spell it (`ON_QUEUE`): presence definitions
/// and events may spell it `OnQueue` or `On Queue`. One the counts do not know is kept
/// as written.
pub fn counts_spelling(system_presence: &str) -> String {
    let squashed = |text: &str| -> String {
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_uppercase())
            .collect()
    };
    let wanted = squashed(system_presence);
    SYSTEM_PRESENCES
        .iter()
        .find(|known| squashed(known) == wanted)
        .map_or_else(|| system_presence.to_string(), |known| known.to_string())
}

/// Every user of the org with their state, and what reading them took. A page skipped
/// for its size fails the read: the agents it held would be missing from the counts.
pub async fn read_user_states(
    client: &GenesysClient,
) -> Result<(Vec<UserState>, PagesRead), ApiError> {
    let mut users = Vec::new();
    let extra: Vec<(&str, &str)> = USER_STATE_EXPAND.iter().map(|e| ("expand", *e)).collect();
    let read = read_numbered_pages(
        client,
        (USER_STATES_ENDPOINT, USERS_PATH),
        &extra,
        USER_STATES_PAGE_SIZE,
        |entities| take(entities, &mut users),
    )
    .await?;
    if read.partial {
        return Err(ApiError::BadResponse {
            endpoint: USER_STATES_ENDPOINT,
            message: "a page of the users listing was too large to read; the agents' \
                      state is incomplete"
                .into(),
        });
    }
    Ok((users, read))
}

/// A queue's member (SDK `QueueMember`): the fields the members read needs.
#[derive(Debug, Deserialize)]
struct QueueMember {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    joined: Option<bool>,
}

/// The ids of the members joined to (active on) queue `queue_id`, and what reading them
/// took. The request asks for joined members only; a member said not to be joined is
/// left out all the same. A queue Genesys does not know (404: deleted since the config
/// was written) has no active agents, and the log says so; any other failure fails the
/// read, as a page skipped for its size does.
pub async fn read_joined_members(
    client: &GenesysClient,
    queue_id: &str,
) -> Result<(Vec<String>, PagesRead), ApiError> {
    let path = QUEUE_MEMBERS_PATH.replace("{queueId}", queue_id);
    let mut members = Vec::new();
    let take = |entities: Vec<Box<RawValue>>| {
        let mut skipped = 0;
        for entity in entities {
            match serde_json::from_str::<QueueMember>(entity.get()) {
                Ok(QueueMember {
                    id: Some(id),
                    joined,
                }) if !id.is_empty() => {
                    if joined != Some(false) {
                        members.push(id);
                    }
                }
                _ => skipped += 1,
            }
        }
        skipped
    };
    let read = match read_numbered_pages(
        client,
        (QUEUE_MEMBERS_ENDPOINT, &path),
        &[("joined", "true")],
        QUEUE_MEMBERS_PAGE_SIZE,
        take,
    )
    .await
    {
        Ok(read) => read,
        // One queue the client cannot read must not stop the org-wide counts (a
        // failed read would, and a seed would be tried again forever).
        Err(ApiError::Rejected {
            status: status @ (403 | 404),
            ..
        }) => {
            if status == 404 {
                tracing::warn!(
                    queue_id,
                    "a queue of `per_queue` is unknown to Genesys (404); counted as having no active agents"
                );
            } else {
                tracing::warn!(
                    queue_id,
                    "the OAuth client may not read the members of a queue of `per_queue` (403: grant its role `routing:queue:view` for the queue's division); until it may, the queue counts only the agents whose activity events name it"
                );
            }
            return Ok((
                Vec::new(),
                PagesRead {
                    requests: 1,
                    ..PagesRead::default()
                },
            ));
        }
        Err(err) => return Err(err),
    };
    if read.partial {
        return Err(ApiError::BadResponse {
            endpoint: QUEUE_MEMBERS_ENDPOINT,
            message: format!(
                "a page of queue {queue_id}'s members was too large to read; its active \
                 agents are incomplete"
            ),
        });
    }
    Ok((members, read))
}

/// Adds the users with an id; returns how many had none.
fn take(entities: Vec<Box<RawValue>>, users: &mut Vec<UserState>) -> u64 {
    let mut skipped = 0;
    for entity in entities {
        match serde_json::from_str::<UserState>(entity.get()) {
            Ok(user) if user.id.as_deref().is_some_and(|id| !id.is_empty()) => users.push(user),
            _ => skipped += 1,
        }
    }
    skipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_and_an_event_read_alike_and_leniently() {
        let user: UserState = serde_json::from_str(
            r#"{"id": "u1", "name": "Ann", "routingStatus": {"userId": "u1", "status": "IDLE"},
                "presence": {"presenceDefinition": {"id": "p1", "systemPresence": "On Queue"}},
                "outOfOffice": {"active": "yes"}, "email": "a@example.com"}"#,
        )
        .unwrap();
        assert_eq!(user.name.as_deref(), Some("Ann"));
        assert_eq!(
            user.routing_status.and_then(|r| r.status).as_deref(),
            Some("IDLE")
        );
        let definition = user.presence.and_then(|p| p.presence_definition).unwrap();
        assert_eq!(definition.id.as_deref(), Some("p1"));
        assert_eq!(user.out_of_office.unwrap().active, None);
        let event: UserState = serde_json::from_str(
            r#"{"id": "u1", "routingStatus": 7, "presence": null, "activeQueueIds": ["q"]}"#,
        )
        .unwrap();
        assert!(event.routing_status.is_none() && event.presence.is_none());
    }

    #[test]
    fn system_presences_take_the_counts_spelling() {
        assert_eq!(counts_spelling("On Queue"), "ON_QUEUE");
        assert_eq!(counts_spelling("OnQueue"), "ON_QUEUE");
        assert_eq!(counts_spelling("ON_QUEUE"), "ON_QUEUE");
        assert_eq!(counts_spelling("Available"), "AVAILABLE");
        assert_eq!(counts_spelling("Dreaming"), "Dreaming");
    }
}
