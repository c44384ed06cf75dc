//! The org's named things besides queues: users, wrap-up codes, divisions, skills,
//! languages, teams, outbound campaigns, flows, flow outcomes and presence definitions,
//! and their listings.
//!
//! Users and wrap-up codes take their ids from the traffic model, flows and flow outcomes
//! theirs from the flows source's model, and presence definitions are the agents model's
//! organization presences, so the `userId`, `wrapUpCode`, `flowId`, `flowOutcomeId` values
//! and presence qualifiers of the aggregates are found here. Names are what people type:
//! some have accents, other scripts, or a double quote, so a client's escaping is put
//! to work.

use serde_json::{Value, json};

use super::listings::{self, Listed, PageSizeLimit};
use super::sources::{FLOW_NAMES, OUTCOME_NAMES, flow_ids, outcome_ids};
use crate::world::agents::SystemPresence;
use crate::world::{HOME_DIVISION_ID, World, stable_uuid};

// Hash domain tags of the ids made here (the traffic model uses 1 to 7).
const TAG_SKILL: u64 = 12;
const TAG_LANGUAGE: u64 = 13;
const TAG_TEAM: u64 = 14;
const TAG_CAMPAIGN: u64 = 15;

const FIRST_NAMES: &[&str] = &[
    "Ana",
    "Jürgen",
    "Robert \"Bob\"",
    "Zoë",
    "Siobhán",
    "Mohammed",
    "Yuki",
    "Olúwaseun",
    "Chloé",
    "Björn",
    "Priya",
    "Łukasz",
    "María José",
    "Nguyễn",
    "Dmitri",
    "Aoife",
];
const LAST_NAMES: &[&str] = &[
    "García",
    "Müller",
    "O'Brien",
    "Ångström",
    "Smith",
    "Kowalski",
    "Tanaka",
    "Dubois",
    "Okafor",
    "Johansson",
    "Sharma",
    "Ivanova",
    "van der Berg",
    "Rossi",
    "Svensson",
    "Wójcik",
    "Fernández",
];
/// Where the divisions are listed.
pub(crate) const DIVISIONS_PATH: &str = "/api/v2/authorization/divisions";

/// One name per division of the traffic model, the home division first.
const DIVISIONS: &[&str] = &["Home", "Customer Care", "Ventes Île-de-France"];
/// One name per wrap-up code of the traffic model.
const WRAP_UP_NAMES: &[&str] = &[
    "Resolved",
    "Follow-up needed",
    "Escalated to tier 2",
    "Callback \"urgent\"",
    "Réclamation",
    "Sale – closed",
    "No answer",
    "Transferred",
];
const SKILLS: &[&str] = &["Billing", "Español", "Technical \"Level 2\"", "Retention"];
const LANGUAGES: &[&str] = &["English", "Deutsch", "Français", "日本語", "Español"];
const TEAMS: &[&str] = &[
    "Team Ørsted",
    "Night Shift",
    "Escalations",
    "Équipe Lyon",
    "Sales \"A\"",
    "Onboarding",
];
/// The organization presences' labels, one per system presence in
/// [`SystemPresence::ALL`] order; the org renamed a few of its own.
const PRESENCE_LABELS: [&str; 10] = [
    "Available",
    "Away",
    "Busy",
    "Offline",
    "Idle",
    "On Queue",
    "Déjeuner",
    "Training \"onboarding\"",
    "Réunion",
    "Break",
];
/// Where the presence definitions are listed (not paged: one answer holds them all).
const PRESENCES_PATH: &str = "/api/v2/presence/definitions";
const CAMPAIGNS: &[&str] = &[
    "Renewals \"Spring\"",
    "Win-back Q4",
    "Überweisung reminders",
];

/// A named thing of the org and how its listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Named {
    pub id: String,
    pub name: String,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    User,
    WrapUpCode,
    Division,
    Skill,
    Language,
    Team,
    Campaign,
    Flow,
    FlowOutcome,
    /// An organization presence, with its `systemPresence` as the listing spells it.
    Presence(&'static str),
}

impl Listed for Named {
    fn id(&self) -> &str {
        &self.id
    }

    /// The entity with the fields a client commonly reads.
    fn entity(&self) -> Value {
        let (id, name) = (&self.id, &self.name);
        match self.kind {
            Kind::User => json!({
                "id": id,
                "name": name,
                "division": {"id": HOME_DIVISION_ID, "name": "Home"},
                "email": format!("agent.{}@example.com", &id[..8]),
                "state": "active",
                "username": format!("agent.{}@example.com", &id[..8]),
                "version": 3,
                "acdAutoAnswer": false,
                "selfUri": format!("/api/v2/users/{id}"),
            }),
            Kind::WrapUpCode => json!({
                "id": id,
                "name": name,
                "division": {"id": HOME_DIVISION_ID, "name": "Home"},
                "dateCreated": "2024-01-15T09:00:00.000Z",
                "createdBy": "system",
                "selfUri": format!("/api/v2/routing/wrapupcodes/{id}"),
            }),
            Kind::Division => json!({
                "id": id,
                "name": name,
                "description": "",
                "homeDivision": id == HOME_DIVISION_ID,
                "selfUri": format!("/api/v2/authorization/divisions/{id}"),
            }),
            Kind::Skill | Kind::Language => {
                let listing = if self.kind == Kind::Skill {
                    "skills"
                } else {
                    "languages"
                };
                json!({
                    "id": id,
                    "name": name,
                    "dateModified": "2024-01-15T09:00:00.000Z",
                    "state": "active",
                    "version": "1",
                    "selfUri": format!("/api/v2/routing/{listing}/{id}"),
                })
            }
            Kind::Team => json!({
                "id": id,
                "name": name,
                "division": {"id": HOME_DIVISION_ID, "name": "Home"},
                "description": "",
                "memberCount": 8,
                "dateCreated": "2024-01-15T09:00:00.000Z",
                "selfUri": format!("/api/v2/teams/{id}"),
            }),
            Kind::Campaign => json!({
                "id": id,
                "name": name,
                "division": {"id": HOME_DIVISION_ID, "name": "Home"},
                "campaignStatus": "on",
                "dialingMode": "preview",
                "version": 1,
                "selfUri": format!("/api/v2/outbound/campaigns/{id}"),
            }),
            Kind::Flow => json!({
                "id": id,
                "name": name,
                "division": {"id": HOME_DIVISION_ID, "name": "Home"},
                "description": "",
                "type": "INBOUNDCALL",
                "active": true,
                "system": false,
                "deleted": false,
                "selfUri": format!("/api/v2/flows/{id}"),
            }),
            Kind::FlowOutcome => json!({
                "id": id,
                "name": name,
                "division": {"id": HOME_DIVISION_ID, "name": "Home"},
                "description": "",
                "selfUri": format!("/api/v2/flows/outcomes/{id}"),
            }),
            Kind::Presence(system_presence) => json!({
                "id": id,
                "name": name,
                "type": if PRESENCE_LABELS.contains(&system_presence) { "System" } else { "User" },
                "languageLabels": {"en_US": name},
                "systemPresence": system_presence,
                "deactivated": false,
                "selfUri": format!("/api/v2/presence/definitions/{id}"),
            }),
        }
    }
}

/// Outbound campaigns serve at most 100 a page, whatever is asked (the SDK documents
/// "The max that will be returned is 100").
const CAMPAIGN_PAGE_LIMIT: PageSizeLimit = PageSizeLimit::Cap(100);

/// Every listing of the org but the queues', by path.
#[derive(Debug)]
pub(crate) struct Directory {
    listings: Vec<(&'static str, Vec<Named>)>,
}

impl Directory {
    /// The org's named things; users, wrap-up codes and divisions are the traffic
    /// model's.
    pub(crate) fn build(world: &World, seed: u64) -> Directory {
        let users = world
            .agent_ids()
            .iter()
            .enumerate()
            .map(|(i, id)| named(id.clone(), user_name(i), Kind::User))
            .collect();
        // The traffic model's ids, named in order (numbered past the names given).
        let modelled = |ids: &[String], names: &[&str], kind: Kind| -> Vec<Named> {
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    let name = names
                        .get(i)
                        .map_or_else(|| format!("{kind:?} {i}"), |n| (*n).to_string());
                    named(id.clone(), name, kind)
                })
                .collect()
        };
        let wrap_up_codes = modelled(world.wrap_up_ids(), WRAP_UP_NAMES, Kind::WrapUpCode);
        let divisions = modelled(world.division_ids(), DIVISIONS, Kind::Division);
        let fixed = |names: &[&str], tag: u64, kind: Kind| -> Vec<Named> {
            names
                .iter()
                .enumerate()
                .map(|(i, name)| named(stable_uuid(seed, tag, i as u64), (*name).to_string(), kind))
                .collect()
        };
        let with_ids = |ids: Vec<String>, names: &[&str], kind: Kind| -> Vec<Named> {
            ids.into_iter()
                .zip(names)
                .map(|(id, name)| named(id, (*name).to_string(), kind))
                .collect()
        };
        let presences = SystemPresence::ALL
            .into_iter()
            .zip(PRESENCE_LABELS)
            .map(|(presence, label)| {
                let kind = Kind::Presence(system_presence_spelling(presence));
                named(presence.org_id(world), label.to_string(), kind)
            })
            .collect();
        Directory {
            listings: vec![
                ("/api/v2/users", users),
                ("/api/v2/routing/wrapupcodes", wrap_up_codes),
                (DIVISIONS_PATH, divisions),
                (
                    "/api/v2/routing/skills",
                    fixed(SKILLS, TAG_SKILL, Kind::Skill),
                ),
                (
                    "/api/v2/routing/languages",
                    fixed(LANGUAGES, TAG_LANGUAGE, Kind::Language),
                ),
                ("/api/v2/teams", fixed(TEAMS, TAG_TEAM, Kind::Team)),
                (
                    "/api/v2/outbound/campaigns",
                    fixed(CAMPAIGNS, TAG_CAMPAIGN, Kind::Campaign),
                ),
                (
                    "/api/v2/flows",
                    with_ids(flow_ids(seed), FLOW_NAMES, Kind::Flow),
                ),
                (
                    "/api/v2/flows/outcomes",
                    with_ids(outcome_ids(seed), OUTCOME_NAMES, Kind::FlowOutcome),
                ),
                (PRESENCES_PATH, presences),
            ],
        }
    }

    /// Whether `path` is one of these listings.
    pub(crate) fn lists(&self, path: &str) -> bool {
        self.listings.iter().any(|(p, _)| *p == path)
    }

    /// The things listed at `path`, in listing order.
    pub(crate) fn entries(&self, path: &str) -> &[Named] {
        self.listings
            .iter()
            .find(|(p, _)| *p == path)
            .map_or(&[], |(_, items)| items.as_slice())
    }

    /// One page of the listing at `path`; `limit` is the org's page-size rule (campaigns
    /// keep their own). The error is the message of a 400.
    pub(crate) fn page(
        &self,
        path: &str,
        query: Option<&str>,
        limit: PageSizeLimit,
    ) -> Result<Value, String> {
        let items = self.entries(path);
        match path {
            "/api/v2/teams" => listings::cursor(path, items, query, limit),
            "/api/v2/outbound/campaigns" => {
                listings::numbered(path, items, query, CAMPAIGN_PAGE_LIMIT)
            }
            PRESENCES_PATH => Ok(json!({
                "total": items.len(),
                "entities": items.iter().map(Listed::entity).collect::<Vec<_>>(),
                "selfUri": path,
            })),
            _ => listings::numbered(path, items, query, limit),
        }
    }
}

/// How presence definitions spell a system presence (`OnQueue`, where the aggregates'
/// qualifiers say `ON_QUEUE`).
pub(super) fn system_presence_spelling(presence: SystemPresence) -> &'static str {
    match presence {
        SystemPresence::Available => "Available",
        SystemPresence::Away => "Away",
        SystemPresence::Busy => "Busy",
        SystemPresence::Offline => "Offline",
        SystemPresence::Idle => "Idle",
        SystemPresence::OnQueue => "OnQueue",
        SystemPresence::Meal => "Meal",
        SystemPresence::Training => "Training",
        SystemPresence::Meeting => "Meeting",
        SystemPresence::Break => "Break",
    }
}

fn named(id: String, name: String, kind: Kind) -> Named {
    Named { id, name, kind }
}

/// The name of user `index`: every first name with a surname, then numbered.
fn user_name(index: usize) -> String {
    let first = FIRST_NAMES[index % FIRST_NAMES.len()];
    let last = LAST_NAMES[index % LAST_NAMES.len()];
    let round = index / (FIRST_NAMES.len() * LAST_NAMES.len());
    if round == 0 {
        format!("{first} {last}")
    } else {
        format!("{first} {last} {}", round + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_unique_and_some_need_escaping() {
        let names: Vec<String> = (0..1_000).map(user_name).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), 1_000);
        assert_eq!(names[0], "Ana García");
        assert!(names[..40].iter().any(|n| n.contains('"')));
        assert!(names[..40].iter().any(|n| !n.is_ascii()));
    }

    #[test]
    fn users_and_wrap_up_codes_carry_the_traffic_ids() {
        let world = World::new(7, 3);
        let directory = Directory::build(&world, 7);
        let users = directory.entries("/api/v2/users");
        assert_eq!(users.len(), world.agent_ids().len());
        assert!(
            users
                .iter()
                .zip(world.agent_ids())
                .all(|(u, id)| &u.id == id)
        );
        let codes = directory.entries("/api/v2/routing/wrapupcodes");
        assert_eq!(codes.len(), WRAP_UP_NAMES.len());
        assert!(
            codes
                .iter()
                .zip(world.wrap_up_ids())
                .all(|(c, id)| &c.id == id)
        );
        assert!(codes.iter().any(|c| c.name.contains('"')));
        assert!(directory.lists("/api/v2/teams"));
        assert!(!directory.lists("/api/v2/routing/queues"));
        let divisions = directory.entries("/api/v2/authorization/divisions");
        assert_eq!(divisions[0].id, HOME_DIVISION_ID);
        let page = directory
            .page(
                "/api/v2/outbound/campaigns",
                Some("pageSize=500"),
                PageSizeLimit::default(),
            )
            .unwrap_or_default();
        assert_eq!(page["pageSize"], 100);
    }
}
