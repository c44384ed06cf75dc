//! `GET /api/v2/users` with `expand`: the users listing ([`super::directory`]) with
//! each agent's state at the simulator's clock when asked (`presence`, `routingStatus`,
//! `outOfOffice`), the same state the agent state counts count and the activity topic
//! pushes at that instant ([`crate::world::agents`]).
//!
//! Shapes from the SDK (purecloudplatformclientv2 269): `User.routingStatus`
//! (`RoutingStatus {userId, status, startTime}`, `status` without `UNKNOWN`),
//! `User.presence` (`UserPresence {presenceDefinition {id, systemPresence}, source,
//! primary, modifiedDate}`, `systemPresence` spelt as the presence definitions spell
//! it), `User.outOfOffice` (`OutOfOffice {active, indefinite}`). `expand` is a list,
//! repeated or comma-separated. Not verified, so chosen plainly: the `expand` values
//! accepted (those the API explorer lists for this listing; any other is a 400 naming
//! `expand`), and that `startTime` and `modifiedDate` are left out (the world keeps no
//! history of when a state began).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::codec::form_pairs;
use super::directory::{Directory, system_presence_spelling};
use super::listings::PageSizeLimit;
use crate::world::World;
use crate::world::agents::{self, AgentState};

/// The listing's path.
pub(super) const USERS_PATH: &str = "/api/v2/users";

/// The `expand` values the users listing takes.
const EXPAND: [&str; 26] = [
    "routingStatus",
    "presence",
    "integrationPresence",
    "conversationSummary",
    "outOfOffice",
    "geolocation",
    "station",
    "authorization",
    "lasttokenissued",
    "dateLastLogin",
    "dateWelcomeSent",
    "authorization.unusedRoles",
    "team",
    "workPlanBidRanks",
    "externalContactsSettings",
    "profileSkills",
    "certifications",
    "locations",
    "groups",
    "skills",
    "languages",
    "languagePreference",
    "employerInfo",
    "biography",
    "customAttributes",
    "chats",
];

/// The `expand` values of a query string (repeated or comma-separated), each one the
/// users listing takes; the error is the message of a 400 naming `expand`.
pub(super) fn expand(query: Option<&str>) -> Result<Vec<String>, String> {
    let mut expand = Vec::new();
    for (key, value) in form_pairs(query.unwrap_or("")) {
        if key != "expand" {
            continue;
        }
        for item in value.split(',').filter(|v| !v.is_empty()) {
            if !EXPAND.contains(&item) {
                return Err(format!(
                    "expand: {item:?} is not a valid value; expected some of {}",
                    EXPAND.join(", ")
                ));
            }
            expand.push(item.to_string());
        }
    }
    Ok(expand)
}

/// One page of the users listing at `now_ms`, with the state `expand` asks for; the
/// error is the message of a 400.
pub(super) fn page(
    directory: &Directory,
    world: &World,
    query: Option<&str>,
    limit: PageSizeLimit,
    now_ms: i64,
) -> Result<Value, String> {
    let expand = expand(query)?;
    let mut body = directory.page(USERS_PATH, query, limit)?;
    let asked = |what: &str| expand.iter().any(|e| e == what);
    if !(asked("presence") || asked("routingStatus") || asked("outOfOffice")) {
        return Ok(body);
    }
    let index: HashMap<&str, u32> = world
        .agent_ids()
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i as u32))
        .collect();
    if let Some(entities) = body["entities"].as_array_mut() {
        for user in entities {
            let Some(&agent) = user["id"].as_str().and_then(|id| index.get(id)) else {
                continue;
            };
            let state = agents::state(world, agent, now_ms);
            add_state(user, world, agent, state, &asked);
        }
    }
    Ok(body)
}

/// The fields of `user`'s state that `asked` names.
fn add_state(
    user: &mut Value,
    world: &World,
    agent: u32,
    state: AgentState,
    asked: &dyn Fn(&str) -> bool,
) {
    if asked("routingStatus") {
        user["routingStatus"] = json!({
            "userId": user["id"],
            "status": state.routing.name(),
        });
    }
    if asked("presence") {
        user["presence"] = json!({
            "source": "PURECLOUD",
            "primary": true,
            "presenceDefinition": {
                "id": state.presence.org_id(world),
                "systemPresence": system_presence_spelling(state.presence),
            },
        });
    }
    if asked("outOfOffice") {
        user["outOfOffice"] = json!({
            "active": agents::out_of_office(agent, &state),
            "indefinite": false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::agents::SystemPresence;

    fn world() -> World {
        World::new(7, 3)
    }

    #[test]
    fn the_state_is_added_only_when_expanded_and_matches_the_world() {
        let world = world();
        let directory = Directory::build(&world, 7);
        let now_ms = 1_765_000_000_000;
        let plain = page(
            &directory,
            &world,
            Some("pageSize=5"),
            PageSizeLimit::default(),
            now_ms,
        )
        .unwrap();
        assert!(plain["entities"][0].get("presence").is_none());
        let query = "pageSize=5&expand=presence&expand=routingStatus,outOfOffice";
        let full = page(
            &directory,
            &world,
            Some(query),
            PageSizeLimit::default(),
            now_ms,
        )
        .unwrap();
        let user = &full["entities"][0];
        let state = agents::state(&world, 0, now_ms);
        assert_eq!(user["routingStatus"]["status"], state.routing.name());
        assert_eq!(
            user["presence"]["presenceDefinition"]["id"],
            state.presence.org_id(&world)
        );
        assert_eq!(
            user["outOfOffice"]["active"],
            state.presence == SystemPresence::Offline
        );
    }

    #[test]
    fn an_unknown_expand_is_refused_by_name() {
        let world = world();
        let directory = Directory::build(&world, 7);
        let err = page(
            &directory,
            &world,
            Some("expand=presense"),
            PageSizeLimit::default(),
            0,
        )
        .unwrap_err();
        assert!(err.contains("expand") && err.contains("presense"), "{err}");
    }
}
