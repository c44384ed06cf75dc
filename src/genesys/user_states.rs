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
//! Neither tells which queues an agent is active in at the listing, so queue
//! memberships (`activeQueueIds`) are not used.

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
